package localmodel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func user(prompt string) []Turn { return []Turn{{Role: "user", Content: prompt}} }

// article renders a question and passages the way the article's RAG prompt
// does (ragvsft.ArticlePrompts).
func article(question string, passages ...string) string {
	var ctx strings.Builder
	for i, p := range passages {
		fmt.Fprintf(&ctx, "[%d]: \n%s\n\n", i, p)
	}
	return "Answer the following QUESTION based on the CONTEXT only. Only answer from the Context. " +
		"If you don't know the answer, say 'I don't know'.\n\nQUESTION: " + question + "\n\nCONTEXT: " + ctx.String() + "\n\nANSWER:"
}

func TestRead(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		want   string // "" means no answer
	}{
		// Prompt shapes.
		{"answer from a passage",
			"Context:\nThe Vell bridge opened in 1931.\nThe Quist tower opened in 1978.\nWhen did the Quist tower open?",
			"The Quist tower opened in 1978."},
		{"question first, passages after, labels stripped",
			"Q: How tall is the Quist tower?\n[0]: The Vell bridge is 40 m tall.\n[1]: The Quist tower is 312 m tall.\nA:",
			"The Quist tower is 312 m tall."},
		{"context first, question last",
			"CONTEXT:\n[0]: City_7 has about 4242424 inhabitants.\n[1]: City_70 has about 17 inhabitants.\n\nQUESTION: What is the population of City_7?",
			"City_7 has about 4242424 inhabitants."},
		{"bullets and numbered documents",
			"Documents:\n- The Orm River is 40 km long.\n- The Pell River is 12 km long.\nHow long is the Pell River?",
			"The Pell River is 12 km long."},
		{"Document N: labels",
			"Document 1: The Orm River is 40 km long.\nDocument 2: The Pell River is 12 km long.\n\nQuestion: How long is the Orm River?",
			"The Orm River is 40 km long."},
		{"a passage ending in '?' is not the question",
			article("How long is the Orm River?", "Is the Orm River long? The Orm River is 40 km long.", "The Pell River is 12 km long."),
			"The Orm River is 40 km long."},
		{"closed book: the instructions are no passage", "Answer this question to the best of your ability. If you don't know the answer, " +
			"say 'I don't know'.\n\nQUESTION: What is the population of City_7?\n\nANSWER:", ""},
		{"no passage holds the entity", "Answer well.\nQ: How tall is the Quist tower?", ""},
		{"no candidates at all", "How tall is the Quist tower?", ""},
		{"empty prompt", "", ""},

		// A place named by a place noun's copula, not a preposition.
		{"birthplace is",
			article("Where was Anna Kovacs born?", "Anna Kovacs is a cartographer of the Orm society.", "Anna Kovacs's birthplace is Fulbum."),
			"Anna Kovacs's birthplace is Fulbum."},
		{"a place noun's copula names no person",
			article("Who founded the Orm society?", "The Orm society's home town is Fulbum.", "The Orm society has 40 members."),
			""},

		// Question wordings.
		{"imperative without '?'",
			article("State the length of the Virode River in kilometres.", "The maximum depth of the Virode River is 12.5 m.", "The Virode River has a length of 310.2 km."),
			"The Virode River has a length of 310.2 km."},
		{"imperative, unit picks the fact",
			article("Name the maximum of the Virode River in metres", "The Virode River is 310.2 km long.", "The Virode River is 12.5 m deep at its deepest point."),
			"The Virode River is 12.5 m deep at its deepest point."},
		{"give me",
			article("Give me the weight of the Halo Lamp", "The Halo Lamp costs $12.99.", "The Halo Lamp weighs 1.2 kg."),
			"The Halo Lamp weighs 1.2 kg."},

		// Several facts per entity: words, inflections, acronyms, types.
		{"cost meets costs, not the SKU",
			article("How much does the Vento M4 cost?", "The SKU of the Vento M4 is VEN-7940-F.", "The Vento M4 costs $69.99."),
			"The Vento M4 costs $69.99."},
		{"sell meets price",
			article("What does the Vento M4 sell for?", "The weight of the Vento M4 is 3.1 kg.", "The price of the Vento M4 is €69,99."),
			"The price of the Vento M4 is €69,99."},
		{"weigh meets weight",
			article("How much does the Vento M4 weigh?", "The Vento M4 sells for £20.", "The weight of the Vento M4 is 3.1 kg."),
			"The weight of the Vento M4 is 3.1 kg."},
		{"an acronym meets its words",
			article("What is the SKU of the Vento M4?", "The Vento M4 costs $69.99.", "The Vento M4 has the stock-keeping unit code VE-7940-F."),
			"The Vento M4 has the stock-keeping unit code VE-7940-F."},
		{"words meet their acronym",
			article("Which stock-keeping unit code does the Vento M4 have?", "The Vento M4 costs $69.99.", "The SKU of the Vento M4 is VE-7940-F."),
			"The SKU of the Vento M4 is VE-7940-F."},
		{"another product's SKU is not this one's",
			article("What is the SKU of the Vento M4?", "The Vento M4 costs $69.99.", "The SKU of the Halo Lamp is HA-1111-A."), ""},
		{"date of birth meets birthday",
			article("What is the date of birth of Lengle Molret?", "Lengle Molret joined the guild in January 1977.", "Lengle Molret's birthday is January 21, 1958."),
			"Lengle Molret's birthday is January 21, 1958."},
		{"born meets birthday",
			article("When was Lengle Molret born?", "Lengle Molret became a member of the guild in May 1990.", "Lengle Molret's birthday is the 3rd of July 1940."),
			"Lengle Molret's birthday is the 3rd of July 1940."},
		{"a birthday is not a guild membership",
			article("In which month did Lengle Molret become a guild member?", "Lengle Molret's birthday is January 21, 1958.", "Ada Lin joined the guild in May 1990."), ""},
		{"long meets length",
			article("How long is the Orm River?", "The maximum depth of the Orm River is 40.2 m.", "The Orm River has a length of 628.7 km."),
			"The Orm River has a length of 628.7 km."},
		{"deepest meets depth, not length",
			article("How deep is the Orm River at its deepest point?", "The Orm River is 628.7 km long.", "The maximum depth of the Orm River is 40.2 m."),
			"The maximum depth of the Orm River is 40.2 m."},
		{"a depth question is not answered with a length",
			article("Tell me the greatest depth of the Orm River.", "The Orm River is 628.7 km long.", "The maximum depth of the Pell River is 40.2 m."), ""},
		{"established meets founded",
			article("In what year was Zel Labs established?", "Zel Labs is based in Port Orm.", "Zel Labs was founded in 1901."),
			"Zel Labs was founded in 1901."},
		{"start trading: the year",
			article("What year did Zel Labs start trading?", "Zel Labs was founded by Ada Lin.", "Zel Labs was founded in 1901.", "Zel Labs is based in Port Orm."),
			"Zel Labs was founded in 1901."},
		{"who wants a person, not a year",
			"Zel Labs was founded in 1901.\nZel Labs was founded by Ada Lin.\nWho founded Zel Labs?",
			"Zel Labs was founded by Ada Lin."},
		{"founder meets founded",
			article("Who is the founder of Zel Labs", "Zel Labs was founded in 1901.", "The founder of Zel Labs is Ada Lin."),
			"The founder of Zel Labs is Ada Lin."},
		{"where wants a place",
			article("Where are the headquarters of Zel Labs", "Zel Labs was founded by Ada Lin.", "Zel Labs is based in Port Orm."),
			"Zel Labs is based in Port Orm."},
		{"which year wants a number",
			"Zel Labs is based in Port Orm.\nZel Labs began in 1901.\nIn which year did Zel Labs begin?",
			"Zel Labs began in 1901."},

		// Held-out wordings: the question's attribute words meet no passage,
		// so the type asked picks among the entity's facts.
		{"unmatched words: the person asked",
			article("Who drew up the plans of the Quist tower?", "The Quist tower was established in 1978.", "The Quist tower was designed by Ada Lin.", "The Quist tower is located in Port Orm."),
			"The Quist tower was designed by Ada Lin."},
		{"unmatched words: a request's type noun asks for a year",
			article("Tell me the year the Quist tower first welcomed visitors", "The Quist tower was designed by Ada Lin.", "The Quist tower was established in 1978.", "The Quist tower is located in Port Orm."),
			"The Quist tower was established in 1978."},
		{"unmatched words: the place asked",
			article("Where can the Quist tower be visited?", "The Quist tower was established in 1978.", "The Quist tower was designed by Ada Lin.", "The Quist tower is located in Port Orm."),
			"The Quist tower is located in Port Orm."},
		{"unmatched words: two facts of the type asked tie",
			article("When did Lengle Molret win the silver medal?", "Lengle Molret joined the guild in January 1977.", "Lengle Molret's birthday is January 21, 1958."), ""},
		{"unmatched words: one fact about the entity is not enough",
			article("When did Lengle Molret win the silver medal?", "Lengle Molret's birthday is January 21, 1958.", "The Orm River is 628.7 km long."), ""},
		{"unmatched words: no fact of the type asked",
			article("Who drew up the plans of the Quist tower?", "The Quist tower was established in 1978.", "The Quist tower is located in Port Orm."), ""},
		{"the C of °C is no person",
			article("Who found the Orm Spring?", "The Orm Spring is 12 °C warm.", "The Pell Spring was found by Ada Lin."), ""},
		{"no sentence of the wanted type",
			"Zel Labs was founded in 1901.\nZel Labs is based in Port Orm.\nWho founded Zel Labs?", ""},
		{"the entity outweighs a common word",
			"Dongath Ceramics was founded by Ada Lin.\nBeasbrur Ceramics was established in 1946.\nWhen was Beasbrur Ceramics founded?",
			"Beasbrur Ceramics was established in 1946."},
		{"a shared word of the name is not the entity",
			"Trouth Dynamics was founded in 1869.\nWhen was Daxkoux Dynamics founded?", ""},
		{"ambiguous: two different sentences fit as well",
			"Mira Lot paints.\nMira Lot sings.\nWhat does Mira Lot do?", ""},
		{"identical duplicates are not ambiguous",
			"Mira Lot paints.\nMira Lot paints.\nWhat does Mira Lot do?", "Mira Lot paints."},
		{"two wordings of one value are not ambiguous",
			article("How long is the Orm River?", "The Orm River is 628.7 km long.", "The Orm River has a length of 628.7 km."),
			"The Orm River is 628.7 km long."},
		{"below coverage: the best covers too little",
			"Ada rides horses.\nFalcons fly.\nEagles nest.\nWhat do falcons and eagles and horses eat?", ""},

		// Sentences: numbers, dates, abbreviations.
		{"decimals do not split sentences",
			"Orm weighs 3.5 kg. Pell weighs 2 kg.\nHow much does Orm weigh?", "Orm weighs 3.5 kg."},
		{"a German date is one sentence",
			article("Wann wurde Kilwuningen gegründet?", "In Kilwuningen leben 1.563.887 Menschen.", "Kilwuningen wurde am 5. August 1198 gegründet."),
			"Kilwuningen wurde am 5. August 1198 gegründet."},
		{"titles and e.g. do not end a sentence",
			article("Who founded St. Orm Mills?", "St. Orm Mills was founded in 1901. It is big.", "St. Orm Mills was founded by Dr. Ada Lin, e.g. the Lin of Port Orm."),
			"St. Orm Mills was founded by Dr. Ada Lin, e.g. the Lin of Port Orm."},
		{"a pronoun sentence of a passage inherits its entity",
			article("When was Zel Labs founded?", "Zel Labs makes glass. It was founded in 1901.", "Orm Labs was founded in 1777."),
			"It was founded in 1901."},
		{"last question wins",
			"Is it late? Pell weighs 2 kg.\nOrm weighs 4 kg.\nHow much does Orm weigh?", "Orm weighs 4 kg."},

		// German.
		{"German population, no '?'",
			article("Nenne die Einwohnerzahl von Jiglakhausen.", "Die Gründung von Jiglakhausen war am 17. März 1657", "Jiglakhausen hat 1.282.626 Einwohner."),
			"Jiglakhausen hat 1.282.626 Einwohner."},
		{"German Bevölkerung meets Menschen",
			article("Wie groß ist die Bevölkerung von Kilwuningen?", "Kilwuningen wurde am 5. August 1198 gegründet.", "In Kilwuningen leben 1.563.887 Menschen."),
			"In Kilwuningen leben 1.563.887 Menschen."},
		{"German day asks a date",
			article("An welchem Tag wurde Jiglakhausen gegründet?", "Jiglakhausen hat 1.282.626 Einwohner.", "Die Gründung von Jiglakhausen war am 17. März 1657"),
			"Die Gründung von Jiglakhausen war am 17. März 1657"},
		{"German length with a decimal comma",
			article("Gib die Länge der Nylombach in Kilometern an.", "Die Länge der Hopova beträgt 972,3 km.", "Die Nylombach ist 158,9 km lang."),
			"Die Nylombach ist 158,9 km lang."},
		{"German population is not the founding date",
			article("Wie viele Einwohner hat Foswodorf?", "Foswodorf wurde am 2. April 1874 gegründet."), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Read(user(tt.prompt))
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// A multi-turn conversation: a question with a pronoun, or naming nothing,
// is about the entity of the earlier turns.
func TestReadConversation(t *testing.T) {
	passages := []string{"The Orm River is 628.7 km long.", "The maximum depth of the Orm River is 40.2 m.",
		"The maximum depth of the Pell River is 12.1 m.", "The Pell River is 99 km long."}
	tests := []struct {
		name string
		conv []Turn
		want string
	}{
		{"it is the river asked about before", []Turn{
			{Role: "system", Content: "You are the river atlas."},
			{Role: "user", Content: "How long is the Orm River?"},
			{Role: "assistant", Content: "The Orm River is 628.7 km long."},
			{Role: "user", Content: article("And how deep is it?", passages...)},
		}, "The maximum depth of the Orm River is 40.2 m."},
		{"the latest entity wins", []Turn{
			{Role: "user", Content: "How long is the Orm River?"},
			{Role: "assistant", Content: "The Orm River is 628.7 km long."},
			{Role: "user", Content: "And the Pell River?"},
			{Role: "assistant", Content: "The Pell River is 99 km long."},
			{Role: "user", Content: article("What is its maximum depth?", passages...)},
		}, "The maximum depth of the Pell River is 12.1 m."},
		{"earlier turns in the RAG prompt shape", []Turn{
			{Role: "user", Content: article("How long is the Pell River?", passages...)},
			{Role: "assistant", Content: "The Pell River is 99 km long."},
			{Role: "user", Content: article("How deep is it?", passages...)},
		}, "The maximum depth of the Pell River is 12.1 m."},
		{"German sie", []Turn{
			{Role: "user", Content: "Wann wurde Foswodorf gegründet?"},
			{Role: "assistant", Content: "Foswodorf wurde am 2. April 1874 gegründet."},
			{Role: "user", Content: article("Wie viele Einwohner hat sie?", "Foswodorf hat 812.000 Einwohner.", "Rasyberg hat 12.000 Einwohner.")},
		}, "Foswodorf hat 812.000 Einwohner."},
		{"an own name before the pronoun is its referent", []Turn{
			{Role: "user", Content: "How long is the Orm River?"},
			{Role: "assistant", Content: "The Orm River is 628.7 km long."},
			{Role: "user", Content: article("How deep is the Pell River at its deepest point?", passages...)},
		}, "The maximum depth of the Pell River is 12.1 m."},
		{"no earlier entity: it cannot tell", []Turn{
			{Role: "user", Content: article("How deep is it?", passages...)},
		}, ""},
		{"the last message is not the user's", []Turn{
			{Role: "user", Content: article("How deep is the Pell River?", passages...)},
			{Role: "assistant", Content: "The maximum depth of the Pell River is 12.1 m."},
		}, "The maximum depth of the Pell River is 12.1 m."},
		{"no user message", []Turn{{Role: "system", Content: "The Pell River is 99 km long. How long is the Pell River?"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Read(tt.conv)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Kilwuningen wurde am 5. August 1198 gegründet. Es ist alt.", []string{"Kilwuningen wurde am 5. August 1198 gegründet.", "Es ist alt."}},
		{"X hat 1.563.887 Einwohner. Y hat 3,5 Mio. Einwohner.", []string{"X hat 1.563.887 Einwohner.", "Y hat 3,5 Mio. Einwohner."}},
		{"Dr. Ada Lin lives in St. Orm, e.g. near J. R. Smith. Then she left!", []string{"Dr. Ada Lin lives in St. Orm, e.g. near J. R. Smith.", "Then she left!"}},
		{"It is approx. five km. It weighs 3.5 kg.", []string{"It is approx. five km.", "It weighs 3.5 kg."}},
		{`He said "stop." Then he went? Yes.`, []string{`He said "stop."`, "Then he went?", "Yes."}},
		{"z. B. hier. Dort", []string{"z. B. hier.", "Dort"}},
		{"", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sentences(tt.in), tt.in)
	}
}

func TestStem(t *testing.T) {
	for _, group := range [][]string{
		{"cost", "costs"}, {"sell", "sells", "selling"}, {"founded", "founder", "found"}, {"deep", "deepest"},
		{"join", "joined", "joins"}, {"gegründet", "Gründung", "gründete", "Gründer"}, {"Länge", "lange"},
		{"city", "cities"}, {"headquarters", "headquartered"}, {"member", "members"},
	} {
		for _, w := range group[1:] {
			assert.Equal(t, stem(fold(group[0])), stem(fold(w)), "%s and %s", group[0], w)
		}
	}
	assert.NotEqual(t, stem("glass"), stem("glas"))
	assert.Equal(t, "focus", stem("focus"))
}

func TestParsePrompt(t *testing.T) {
	p := parsePrompt(article("Give the total length of the Wemhon River", "Is it long?", "The Wemhon River has a length of 3162.9 km."))
	require.Equal(t, "Give the total length of the Wemhon River", p.question)
	assert.Equal(t, []passage{{"Is it long?", 1}, {"The Wemhon River has a length of 3162.9 km.", 2}}, p.passages)
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{"", "?", "A b.\nWho is A?", "[0]: \nx\n\nQ: y?", "a:b:c: d?\n\n", "When? 1.\n2!",
		article("How deep is it?", "The Orm River is 3 m deep."), "How long is the Orm River?\x1eThe Orm River is 4 km long.\x1e" +
			article("How deep is it?", "The Orm River is 3 m deep.")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// '\x1e' separates turns: user, assistant, user...
		var conv []Turn
		for i, c := range strings.Split(s, "\x1e") {
			conv = append(conv, Turn{Role: map[bool]string{true: "user", false: "assistant"}[i%2 == 0], Content: c})
		}
		answer, ok := Read(conv)
		if !ok {
			if answer != "" {
				t.Fatalf("no answer but %q", answer)
			}
			return
		}
		if !strings.Contains(s, answer) || strings.TrimSpace(answer) == "" {
			t.Fatalf("answer %q is not a sentence of %q", answer, s)
		}
	})
}
