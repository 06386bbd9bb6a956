package ragvsft_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

func TestReadQuestions(t *testing.T) {
	file := "\xEF\xBB\xBF" + `{"id": "q1", "question": "Which year saw the founding of Tearkbour Analytics?", "answer": "1918", "doc_id": "company-01-founded"}` + "\r\n" +
		"\n   \n" +
		`{"answer": "Port Velm", "aliases": ["Velm", "Port Velm, on the coast"], "id": "q2", "messages": [` +
		`{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell me about Anna Kovacs."}, ` +
		`{"role": "assistant", "name": "guide", "content": "Anna Kovacs is a cartographer."}, {"role": "user", "content": "Where was she born?"}]}` + "\n" +
		`{"id": "q3", "messages": [{"role": "user", "content": "Tell me \u00e0 propos \"x\""}], "answer": "y"}`
	qs, err := ragvsft.ReadQuestions(strings.NewReader(file), "held.jsonl")
	require.NoError(t, err)
	assert.Equal(t, "held.jsonl", qs.Name())
	assert.Equal(t, 3, qs.Len())
	assert.Equal(t, []ragvsft.Question{
		{ID: "q1", Text: "Which year saw the founding of Tearkbour Analytics?", Gold: "1918", DocID: "company-01-founded"},
		{ID: "q2", Text: "Where was she born?", Gold: "Port Velm", Aliases: []string{"Velm", "Port Velm, on the coast"}, Messages: []ragvsft.Message{
			{Role: ragvsft.RoleSystem, Content: "Be brief."},
			{Role: ragvsft.RoleUser, Content: "Tell me about Anna Kovacs."},
			{Role: ragvsft.RoleAssistant, Name: "guide", Content: "Anna Kovacs is a cartographer."},
		}},
		{ID: "q3", Text: `Tell me à propos "x"`, Gold: "y"},
	}, qs.Questions())

	// The committed held-out file of the companies reads.
	held, err := ragvsft.LoadQuestions(filepath.Join("testdata", "companies_questions.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 180, held.Len())

	_, err = ragvsft.LoadQuestions(filepath.Join(t.TempDir(), "none.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "ragvsft: opening questions")
}

// Each problem is named with the file and its line, and all of a file's
// problems are reported at once.
func TestReadQuestionsProblems(t *testing.T) {
	const ok = `{"id": "ok", "question": "q?", "answer": "a"}`
	tests := []struct {
		name, line, want string
	}{
		{"malformed JSON", `{"id": "x", "question": }`, "not valid JSON (column 25): invalid character '}' looking for beginning of value"},
		{"not UTF-8", "{\"id\": \"x\xff\", \"question\": \"q\", \"answer\": \"a\"}", "not valid UTF-8"},
		{"not an object", `["id", "x"]`, "a line must be a JSON object, not an array"},
		{"unknown key", `{"id": "x", "question": "q", "answer": "a", "gold": "a"}`, `unknown key "gold" (allowed: id, question, messages, answer, doc_id, aliases)`},
		{"key twice", `{"id": "x", "question": "q", "answer": "a", "answer": "b"}`, `duplicate key "answer"`},
		{"no id", `{"question": "q", "answer": "a"}`, `missing "id"`},
		{"id not a string", `{"id": 7, "question": "q", "answer": "a"}`, "id must be a string, not a number"},
		{"empty id", `{"id": " ", "question": "q", "answer": "a"}`, "id is empty"},
		{"empty question", `{"id": "x", "question": "", "answer": "a"}`, "question is empty"},
		{"question not a string", `{"id": "x", "question": ["q"], "answer": "a"}`, "question must be a string, not an array"},
		{"both question and messages", `{"id": "x", "question": "q", "messages": [{"role": "user", "content": "q"}], "answer": "a"}`, `both "question" and "messages": give the question one way`},
		{"neither", `{"id": "x", "answer": "a"}`, `missing "question" (or "messages")`},
		{"no answer", `{"id": "x", "question": "q"}`, `missing "answer"`},
		{"empty answer", `{"id": "x", "question": "q", "answer": "\t"}`, "answer is empty"},
		{"answer not a string", `{"id": "x", "question": "q", "answer": 1918}`, "answer must be a string, not a number"},
		{"empty doc_id", `{"id": "x", "question": "q", "answer": "a", "doc_id": ""}`, "doc_id is empty"},
		{"aliases not an array", `{"id": "x", "question": "q", "answer": "a", "aliases": "b"}`, "aliases must be an array of strings, not a string"},
		{"alias not a string", `{"id": "x", "question": "q", "answer": "a", "aliases": ["b", 2]}`, "alias 2 must be a string, not a number"},
		{"empty alias", `{"id": "x", "question": "q", "answer": "a", "aliases": [""]}`, "alias 1 is empty"},
		{"messages not an array", `{"id": "x", "messages": "q", "answer": "a"}`, `"messages" must be an array, not a string`},
		{"no messages", `{"id": "x", "messages": [], "answer": "a"}`, `"messages" is empty`},
		{"ends in an assistant turn", `{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "answer": "a"}`, "the conversation must end in the user turn asked, not in an assistant turn (message 2)"},
		{"tool turn", `{"id": "x", "messages": [{"role": "tool", "content": "r"}, {"role": "user", "content": "q"}], "answer": "a"}`, `message 1: role "tool" cannot be asked (want system, developer, user or assistant)`},
		{"message not an object", `{"id": "x", "messages": ["q"], "answer": "a"}`, "message 1: a message must be a JSON object, not a string"},
		{"message key unknown", `{"id": "x", "messages": [{"role": "user", "content": "q", "weight": 1}], "answer": "a"}`, `message 1: unknown key "weight" (allowed: role, content, name)`},
		{"message key twice", `{"id": "x", "messages": [{"role": "user", "content": "q", "content": "r"}], "answer": "a"}`, `message 1: duplicate key "content"`},
		{"message without role", `{"id": "x", "messages": [{"content": "q"}], "answer": "a"}`, "message 1: missing role"},
		{"message without content", `{"id": "x", "messages": [{"role": "user"}], "answer": "a"}`, "message 1: missing content"},
		{"message with empty content", `{"id": "x", "messages": [{"role": "user", "content": " "}], "answer": "a"}`, "message 1: empty content"},
		{"content not a string", `{"id": "x", "messages": [{"role": "user", "content": [{"type": "text", "text": "q"}]}], "answer": "a"}`, "message 1: content must be a string, not an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, err := ragvsft.ReadQuestions(strings.NewReader(ok+"\n\n"+tt.line+"\n"), "held.jsonl")
			assert.Nil(t, qs)
			assert.EqualError(t, err, "ragvsft: held.jsonl: line 3: "+tt.want)
			var ve *ragvsft.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "held.jsonl", ve.File)
			assert.Equal(t, 3, ve.Problems[0].Line)
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		file := ok + "\n" + `{"id": "ok", "question": "again?", "answer": "a"}` + "\n" + `{"id": "y", "question": "q", "messages": [], "answer": ""}` + "\nnull"
		_, err := ragvsft.ReadQuestions(strings.NewReader(file), "held.jsonl")
		assert.EqualError(t, err, `ragvsft: held.jsonl: 5 problems:
  line 2: duplicate id "ok": also on line 1
  line 3: "messages" is empty
  line 3: answer is empty
  line 3: both "question" and "messages": give the question one way
  line 4: a line must be a JSON object, not null`)
	})
	t.Run("capped", func(t *testing.T) {
		var b strings.Builder
		for i := range ragvsft.MaxProblems + 5 {
			fmt.Fprintf(&b, `{"id": "q%d", "question": "q", "answer": ""}`+"\n", i)
		}
		_, err := ragvsft.ReadQuestions(strings.NewReader(b.String()), "held.jsonl")
		var ve *ragvsft.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Len(t, ve.Problems, ragvsft.MaxProblems)
		assert.Equal(t, 5, ve.Omitted)
		assert.Equal(t, ragvsft.MaxProblems, ve.Problems[ragvsft.MaxProblems-1].Line)
	})
	t.Run("no questions", func(t *testing.T) {
		_, err := ragvsft.ReadQuestions(strings.NewReader("\n \n"), "held.jsonl")
		assert.EqualError(t, err, "ragvsft: held.jsonl: no questions")
	})
}

func TestWithQuestions(t *testing.T) {
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "explorers.jsonl"))
	require.NoError(t, err)
	file := `{"id": "a", "question": "Where was Anna Kovacs born?", "answer": "Fulbum", "doc_id": "explorer-01-born-in"}
{"id": "b", "question": "What does Anna Kovacs do?", "answer": "cartographer", "doc_id": "explorer-01-born-in#3"}
{"id": "c", "question": "Who?", "answer": "x"}`
	qs, err := ragvsft.ReadQuestions(strings.NewReader(file), "held.jsonl")
	require.NoError(t, err)
	with, err := ragvsft.WithQuestions(ds, qs)
	require.NoError(t, err)
	assert.Equal(t, ds.Examples(), with.Examples(), "the training examples are the dataset's")
	got, err := ragvsft.Questions(with)
	require.NoError(t, err)
	assert.Equal(t, qs.Questions(), got)
	docs, err := ragvsft.Documents(with)
	require.NoError(t, err)
	want, err := ragvsft.Documents(ds)
	require.NoError(t, err)
	assert.Equal(t, want, docs, "the documents are the dataset's")

	bad := file + "\n" + `{"id": "d", "question": "q", "answer": "a", "doc_id": "explorer-01-born-in#2"}` + "\n" + `{"id": "e", "question": "q", "answer": "a", "doc_id": "line 1"}`
	qs, err = ragvsft.ReadQuestions(strings.NewReader(bad), "held.jsonl")
	require.NoError(t, err, "doc_id is checked against a dataset, not by the reader")
	_, err = ragvsft.WithQuestions(ds, qs)
	assert.EqualError(t, err, `ragvsft: held.jsonl: 2 problems:
  line 4: doc_id "explorer-01-born-in#2" names no document of `+ds.Name()+`
  line 5: doc_id "line 1" names no document of `+ds.Name())

	_, err = ragvsft.WithQuestions(ds, nil)
	assert.EqualError(t, err, "ragvsft: WithQuestions: no questions")
	_, err = ragvsft.WithQuestions(nil, qs)
	assert.EqualError(t, err, "ragvsft: WithQuestions: no dataset")
}

// An evaluator that cannot read a questions file's gold answers names its
// lines, in the questions file.
func TestGoldCheckNamesTheQuestionsFile(t *testing.T) {
	file := `{"id": "a", "question": "When was Tearkbour Analytics founded?", "answer": "1918"}
{"id": "b", "question": "Who founded Tearkbour Analytics?", "answer": "Kexsox Houcourklend"}
{"id": "c", "question": "How old?", "answer": "100", "aliases": ["a century"]}`
	qs, err := ragvsft.ReadQuestions(strings.NewReader(file), "held.jsonl")
	require.NoError(t, err)
	with, err := ragvsft.WithQuestions(companies(t), qs)
	require.NoError(t, err)
	model := &countingModel{Model: ragvsft.NewLocalModel()}
	_, err = (&ragvsft.Experiment{Dataset: with, Base: model, Arms: []ragvsft.Arm{ragvsft.ArmBase}, Evaluator: ragvsft.NumericEvaluator{}}).Run(context.Background())
	require.ErrorIs(t, err, ragvsft.ErrUnreadableGold)
	var ve *ragvsft.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "held.jsonl", ve.File)
	assert.Equal(t, []ragvsft.Problem{
		{Line: 2, ID: "b", Message: `gold answer "Kexsox Houcourklend" has no number`},
		{Line: 3, ID: "c", Message: `alias "a century": gold answer "a century" has no number`},
	}, ve.Problems)
	assert.Zero(t, model.calls.Load(), "nothing was asked")
}

func companies(t testing.TB) *ragvsft.JSONLDataset {
	t.Helper()
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "companies.jsonl"))
	require.NoError(t, err)
	return ds
}

// Every evaluator accepts an answer that matches an alias and says which;
// the gold answer is tried first, and a wrong verdict is the gold's.
func TestEvaluatorsAcceptAliases(t *testing.T) {
	tests := []struct {
		name      string
		ev        ragvsft.Evaluator
		q         ragvsft.Question
		answer    string
		correct   bool
		alias     string
		expected  string
		reasonHas string
	}{
		{"text: the surname alone is wrong without an alias", ragvsft.TextEvaluator{},
			ragvsft.Question{Text: "Who founded Tearkbour Analytics?", Gold: "Kexsox Houcourklend"}, "Houcourklend.", false, "", "kexsox houcourklend", "F1 0.67"},
		{"text: the surname alias", ragvsft.TextEvaluator{},
			ragvsft.Question{Text: "Who founded Tearkbour Analytics?", Gold: "Kexsox Houcourklend", Aliases: []string{"K. H.", "Houcourklend"}}, "Houcourklend.", true, "Houcourklend", "houcourklend", ""},
		{"text: the gold first", ragvsft.TextEvaluator{},
			ragvsft.Question{Text: "Who founded Tearkbour Analytics?", Gold: "Kexsox Houcourklend", Aliases: []string{"Houcourklend"}}, "It was Kexsox Houcourklend.", true, "", "kexsox houcourklend", ""},
		{"text: none matches", ragvsft.TextEvaluator{},
			ragvsft.Question{Text: "Who founded Tearkbour Analytics?", Gold: "Kexsox Houcourklend", Aliases: []string{"Houcourklend"}}, "Somebody else.", false, "", "kexsox houcourklend", "nor any of 1 aliases"},
		{"exact", ragvsft.ExactEvaluator{},
			ragvsft.Question{Gold: "The Hague", Aliases: []string{"Den Haag"}}, "Den Haag.", true, "Den Haag", "den haag", ""},
		{"contains", ragvsft.ContainsEvaluator{},
			ragvsft.Question{Gold: "Lake Saxmai", Aliases: []string{"Saxmai"}}, "It is in Saxmai.", true, "Saxmai", "saxmai", ""},
		{"numeric", ragvsft.NumericEvaluator{},
			ragvsft.Question{Gold: "12 inhabitants", Aliases: []string{"a dozen, 12.0 or 13"}}, "It has 12.0.", true, "", "12", ""},
		{"numeric: the alias's number", ragvsft.NumericEvaluator{},
			ragvsft.Question{Gold: "1,967,825", Aliases: []string{"about 2 million"}}, "About 2 million.", true, "about 2 million", "2000000", ""},
		{"auto: a text alias of a year", ragvsft.AutoEvaluator{},
			ragvsft.Question{Text: "When did it open?", Gold: "1918", Aliases: []string{"the end of the Great War"}}, "At the end of the Great War.", true, "the end of the Great War", "end of great war", ""},
		{"auto: the year itself", ragvsft.AutoEvaluator{},
			ragvsft.Question{Text: "When did it open?", Gold: "1918", Aliases: []string{"the end of the Great War"}}, "In 1918.", true, "", "1918", ""},
		{"auto: wrong", ragvsft.AutoEvaluator{},
			ragvsft.Question{Text: "When did it open?", Gold: "1918", Aliases: []string{"the end of the Great War"}}, "In 1919.", false, "", "1918", "nor any of 1 aliases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gc, ok := tt.ev.(ragvsft.GoldChecker)
			require.True(t, ok)
			require.NoError(t, gc.CheckGold(tt.q))
			v, err := tt.ev.Evaluate(context.Background(), tt.q, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, tt.correct, v.Correct, "%+v", v)
			assert.Equal(t, tt.alias, v.Alias)
			assert.Equal(t, tt.expected, v.Expected)
			if tt.reasonHas != "" {
				assert.Contains(t, v.Reason, tt.reasonHas)
			}
		})
	}

	err := ragvsft.TextEvaluator{}.CheckGold(ragvsft.Question{Gold: "Paris", Aliases: []string{"Paris", "..."}})
	assert.EqualError(t, err, `alias "...": gold answer "..." has no words after normalization`)
}

// Each result says whether its question's wording is a training prompt; the
// Markdown report gives each arm's accuracy on both kinds.
func TestSeenAndHeldOutWordings(t *testing.T) {
	ds := companies(t)
	held, err := ragvsft.LoadQuestions(filepath.Join("testdata", "companies_questions.jsonl"))
	require.NoError(t, err)
	// The first 30 facts in a training wording (case and spaces changed),
	// then the same facts held out.
	var b strings.Builder
	trainingQs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	for _, q := range trainingQs[:30] {
		fmt.Fprintf(&b, `{"id": "seen-%s", "question": %q, "answer": %q, "doc_id": %q}`+"\n", q.ID, "  "+strings.ToLower(q.Text[:1])+strings.ReplaceAll(q.Text[1:], " ", "  "), q.Gold, q.DocID)
	}
	for _, q := range held.Questions()[:30] {
		fmt.Fprintf(&b, `{"id": %q, "question": %q, "answer": %q, "doc_id": %q}`+"\n", q.ID, q.Text, q.Gold, q.DocID)
	}
	mixed, err := ragvsft.ReadQuestions(strings.NewReader(b.String()), "mixed.jsonl")
	require.NoError(t, err)
	with, err := ragvsft.WithQuestions(ds, mixed)
	require.NoError(t, err)
	rep, err := (&ragvsft.Experiment{Dataset: with, Base: ragvsft.NewLocalModel(), Retriever: newRetriever(t),
		Arms: []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG}, Evaluator: ragvsft.AutoEvaluator{}}).Run(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Results, 2*60)

	type tally struct{ correct, answered int }
	split := map[ragvsft.Arm]map[bool]*tally{}
	for _, r := range rep.Results {
		assert.Equal(t, strings.HasPrefix(r.QuestionID, "seen-"), r.SeenInTraining, r.QuestionID)
		if split[r.Arm] == nil {
			split[r.Arm] = map[bool]*tally{true: {}, false: {}}
		}
		if r.Error == "" {
			split[r.Arm][r.SeenInTraining].answered++
			if r.Verdict.Correct {
				split[r.Arm][r.SeenInTraining].correct++
			}
		}
	}
	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	t.Logf("\n%s", md.String())
	assert.Contains(t, md.String(), "Wordings: 30 questions seen in training, 30 held out.")
	for _, arm := range []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG} {
		s, h := split[arm][true], split[arm][false]
		assert.Contains(t, md.String(), fmt.Sprintf("| %s | %d/%d (%.1f%%) | %d/%d (%.1f%%) |", arm,
			s.correct, s.answered, 100*float64(s.correct)/float64(s.answered), h.correct, h.answered, 100*float64(h.correct)/float64(h.answered)))
	}
	assert.Equal(t, 30, split[ragvsft.ArmRAG][true].correct, "rag reads every fact asked in the training wording")

	// Without a questions file every wording is seen, and the report says
	// nothing of wordings.
	rep, err = (&ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), Arms: []ragvsft.Arm{ragvsft.ArmBase}, Evaluator: ragvsft.AutoEvaluator{}}).Run(context.Background())
	require.NoError(t, err)
	for _, r := range rep.Results {
		require.True(t, r.SeenInTraining, r.QuestionID)
	}
	md.Reset()
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.NotContains(t, md.String(), "Wordings")

	// Only held-out wordings: one line says so.
	with, err = ragvsft.WithQuestions(ds, held)
	require.NoError(t, err)
	rep, err = (&ragvsft.Experiment{Dataset: with, Base: ragvsft.NewLocalModel(), Arms: []ragvsft.Arm{ragvsft.ArmBase}, Evaluator: ragvsft.AutoEvaluator{}}).Run(context.Background())
	require.NoError(t, err)
	md.Reset()
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Wordings: all 180 questions are held out (no question is worded as a training prompt).")
}
