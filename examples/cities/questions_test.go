package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

var companiesFile = filepath.Join("..", "..", "testdata", "companies.jsonl")

// mixedQuestions writes a questions file of the companies: every fact in
// its training wording, then the committed held-out wordings.
func mixedQuestions(t *testing.T) string {
	t.Helper()
	ds, err := ragvsft.LoadJSONL(companiesFile)
	require.NoError(t, err)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	var b strings.Builder
	for _, q := range qs {
		line, err := json.Marshal(map[string]string{"id": "seen-" + q.ID, "question": q.Text, "answer": q.Gold, "doc_id": q.DocID})
		require.NoError(t, err)
		b.Write(append(line, '\n'))
	}
	held, err := os.ReadFile(filepath.Join("..", "..", "testdata", "companies_questions.jsonl"))
	require.NoError(t, err)
	b.Write(held)
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// -questions asks a questions file's questions, keeps a copy in the run
// folder for -resume, records it in config.json, and the report splits
// each arm by seen and held-out wordings.
func TestQuestionsFlag(t *testing.T) {
	questions := mixedQuestions(t)
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-data", companiesFile, "-questions", questions, "-out", dir, "-sweep", "")
	require.NoError(t, err, out)
	assert.Contains(t, out, fmt.Sprintf("ragvsft: 360 questions from %s (trained on %s)", questions, companiesFile))
	assert.Contains(t, out, "Wordings: 180 questions seen in training, 180 held out.")
	split := out[strings.Index(out, "Wordings:"):]
	t.Logf("\n%s", split[:strings.Index(split, "\nRetrieval")])

	raw, err := os.ReadFile(questions)
	require.NoError(t, err)
	kept, err := os.ReadFile(filepath.Join(dir, questionsFile))
	require.NoError(t, err)
	assert.Equal(t, raw, kept, "the run folder keeps the questions file byte for byte")
	var cfg config
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cfg))
	assert.Equal(t, questions, cfg.Questions)

	rep := readReport(t, dir)
	assert.Equal(t, 360, rep.Settings.Questions)
	for _, r := range rep.Results {
		require.Equal(t, strings.HasPrefix(r.QuestionID, "seen-"), r.SeenInTraining, r.QuestionID)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| arm | seen wordings | held-out wordings |")

	// -resume reads the run folder's copy, not the file, which may have
	// changed or gone since.
	require.NoError(t, os.Remove(questions))
	out, err = runCities(t, "-resume", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "1440 of 1440 items are in its checkpoint, 0 to ask")
	requireSameReport(t, rep, readReport(t, dir))

	out, err = runCities(t, "-resume", dir, "-questions", "other.jsonl")
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf(`-questions "other.jsonl" (the run has %q)`, questions))
}

// A questions file with a problem stops the run before it has a folder,
// naming the file and its lines.
func TestQuestionsFlagRejectsABadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"id": "a", "question": "Who founded Tearkbour Analytics?", "answer": "Kexsox Houcourklend", "doc_id": "company-01-founder"}
{"id": "b", "question": "Who?", "answer": "x", "doc_id": "company-99-founder"}
{"id": "c", "answer": "x"}
`), 0o644))
	dir := filepath.Join(t.TempDir(), "run")
	_, err := runCities(t, "-data", companiesFile, "-questions", path, "-out", dir)
	require.Error(t, err)
	assert.Equal(t, "ragvsft: "+path+`: line 3: missing "question" (or "messages")`, err.Error())

	require.NoError(t, os.WriteFile(path, []byte(`{"id": "b", "question": "Who?", "answer": "x", "doc_id": "company-99-founder"}`), 0o644))
	_, err = runCities(t, "-data", companiesFile, "-questions", path, "-out", dir)
	require.Error(t, err)
	assert.Equal(t, "ragvsft: "+path+`: line 1: doc_id "company-99-founder" names no document of `+companiesFile, err.Error())
	assert.NoDirExists(t, dir, "nothing was started")

	_, err = runCities(t, "-questions", filepath.Join(t.TempDir(), "none.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
