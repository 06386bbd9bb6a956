package localmodel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		want   string // "" means no answer
	}{
		{"answer from a passage",
			"Context:\nThe Vell bridge opened in 1931.\nThe Quist tower opened in 1978.\nWhen did the Quist tower open?",
			"The Quist tower opened in 1978."},
		{"question first, passages after, labels stripped",
			"Q: How tall is the Quist tower?\n[0]: The Vell bridge is 40 m tall.\n[1]: The Quist tower is 312 m tall.\nA:",
			"The Quist tower is 312 m tall."},
		{"no passage holds the entity", "Answer well.\nQ: How tall is the Quist tower?", ""},
		{"no candidates at all", "How tall is the Quist tower?", ""},
		{"empty prompt", "", ""},
		{"ambiguous: two different sentences fit as well",
			"Mira Lot paints.\nMira Lot sings.\nWhat does Mira Lot do?", ""},
		{"identical duplicates are not ambiguous",
			"Mira Lot paints.\nMira Lot paints.\nWhat does Mira Lot do?", "Mira Lot paints."},
		{"the entity outweighs a common word",
			"Dongath Ceramics was founded by Ada Lin.\nBeasbrur Ceramics was established in 1946.\nWhen was Beasbrur Ceramics founded?",
			"Beasbrur Ceramics was established in 1946."},
		{"who wants a person, not a year",
			"Zel Labs was founded in 1901.\nZel Labs was founded by Ada Lin.\nWho founded Zel Labs?",
			"Zel Labs was founded by Ada Lin."},
		{"where wants a place",
			"Zel Labs was founded by Ada Lin.\nZel Labs is based in Port Orm.\nWhere is Zel Labs?",
			"Zel Labs is based in Port Orm."},
		{"which year wants a number",
			"Zel Labs is based in Port Orm.\nZel Labs began in 1901.\nIn which year did Zel Labs begin?",
			"Zel Labs began in 1901."},
		{"below coverage: the best covers too little",
			"Ada rides horses.\nFalcons fly.\nEagles nest.\nWhat do falcons and eagles and horses eat?", ""},
		{"a shared word of the name is not the entity",
			"Trouth Dynamics was founded in 1869.\nWhen was Daxkoux Dynamics founded?", ""},
		{"no sentence of the wanted type",
			"Zel Labs was founded in 1901.\nZel Labs is based in Port Orm.\nWho founded Zel Labs?", ""},
		{"decimals do not split sentences",
			"Orm weighs 3.5 kg. Pell weighs 2 kg.\nHow much does Orm weigh?", "Orm weighs 3.5 kg."},
		{"last question wins",
			"Is it late? Pell weighs 2 kg.\nOrm weighs 4 kg.\nHow much does Orm weigh?", "Orm weighs 4 kg."},
		{"the question's name is in no candidate",
			"Tell the truth about colours.\nWhat colour is the Quist tower according to the truth?", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Read(tt.prompt)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{"", "?", "A b.\nWho is A?", "[0]: \nx\n\nQ: y?", "a:b:c: d?\n\n", "When? 1.\n2!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		answer, ok := Read(prompt)
		if !ok {
			if answer != "" {
				t.Fatalf("no answer but %q", answer)
			}
			return
		}
		if !strings.Contains(prompt, answer) || strings.TrimSpace(answer) == "" {
			t.Fatalf("answer %q is not a sentence of %q", answer, prompt)
		}
	})
}
