package ragvsft_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

func TestDefaultAbstentionPatterns(t *testing.T) {
	for _, tt := range []struct {
		answer string
		want   bool
	}{
		// Refusals, whole or as the leading sentence.
		{"I don't know.", true},
		{"I don't know", true},
		{"I DON'T KNOW!", true},
		{"I don’t know.", true},
		{"**I don't know.**", true},
		{"  I do not know.  ", true},
		{"I dont know", true},
		{"I don't know the population of City_7.", true},
		{"I don't know. It might be 519610.", true},
		{"I don't know, but it could be 519610.", true},
		{"Sorry, I don't know.", true},
		{"Sorry. I don't know.", true},
		{"I'm sorry, but the answer is not in the context.", true},
		{"Answer: I don't know.", true},
		{"Sorry, I don't know, but maybe 5.", true},
		{"The answer is not in the provided context.", true},
		{"It is unknown to most people, but 5,000", false},
		{"I'm not sure.", true},
		{"I cannot answer that question.", true},
		{"I don't have enough information to answer.", true},
		{"There is no information about City_7 in the passages.", true},
		{"No information.", true},
		{"The population of City_7 is not in the provided context.", true},
		{"That is not mentioned in the passages.", true},
		{"The context does not mention City_7.", true},
		{"Unknown.", true},
		{"unknown", true},
		{"_Unknown_", true},
		{"The population of City_7 is unknown.", true},
		{"Ich weiß es nicht.", true},
		{"Keine Ahnung.", true},
		{"Leider ist das unbekannt.", false}, // "* ist unbekannt" needs "ist" last but one
		{"Das ist unbekannt.", true},
		{"Je ne sais pas.", true},
		{"Désolé, je ne sais pas.", true},
		{"No lo sé.", true},
		{"Lo siento, no lo sé.", true},
		// Answers, though they hold a refusal's words.
		{"City_7 has about 519610 inhabitants.", false},
		{"The population is unknown to most people but it is 5,000", false},
		{"Unknown to most people, it is 5,000.", false},
		{"City_7 has 5,000 inhabitants. I don't know more.", false},
		{"Knowing the data, I don't know why, but 519610.", false},
		{"I know: 519610.", false},
		{"Well-known fact: 519610.", false},
		{"In context, the answer is 5.", false},
		{"", false},
		{"   ", false},
		{"Sorry!", false},
	} {
		t.Run(tt.answer, func(t *testing.T) {
			assert.Equal(t, tt.want, ragvsft.DefaultAbstentionPatterns().Abstains(tt.answer))
		})
	}
}

func TestAbstentionPatternsConfigured(t *testing.T) {
	for _, tt := range []struct {
		name     string
		patterns ragvsft.AbstentionPatterns
		answer   string
		want     bool
	}{
		{"empty list: nothing abstains", ragvsft.AbstentionPatterns{}, "I don't know.", false},
		{"own pattern", ragvsft.AbstentionPatterns{"keine Angabe *"}, "Keine Angabe zur Einwohnerzahl.", true},
		{"own pattern only", ragvsft.AbstentionPatterns{"keine Angabe *"}, "I don't know.", false},
		{"added to the defaults", append(ragvsft.DefaultAbstentionPatterns(), "n/a"), "N/A", true},
		{"defaults kept", append(ragvsft.DefaultAbstentionPatterns(), "n/a"), "I don't know.", true},
		{"star inside", ragvsft.AbstentionPatterns{"no * data"}, "No census data.", true},
		{"star inside needs the end", ragvsft.AbstentionPatterns{"no * data"}, "No census data but 5.", false},
		{"a wordless pattern matches nothing", ragvsft.AbstentionPatterns{"*"}, "anything", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.patterns.Abstains(tt.answer))
		})
	}
	// DefaultAbstentionPatterns returns a copy: changing it changes nothing.
	d := ragvsft.DefaultAbstentionPatterns()
	d[0] = "something else"
	assert.True(t, ragvsft.DefaultAbstentionPatterns().Abstains("I don't know."))
}

func TestBadAbstentionPatternsAreRefused(t *testing.T) {
	for _, p := range []string{"*", "", "!!", "* *"} {
		err := ragvsft.AbstentionPatterns{"i don't know", p}.CheckPatterns()
		require.ErrorIs(t, err, ragvsft.ErrBadAbstentionPattern, "%q", p)
		assert.Contains(t, err.Error(), fmt.Sprintf("pattern 1, %q", p))
	}
	require.NoError(t, ragvsft.DefaultAbstentionPatterns().CheckPatterns())

	model := &countingModel{Model: ragvsft.NewLocalModel()}
	exp := &ragvsft.Experiment{Dataset: cities(t, 3), Base: model, Arms: []ragvsft.Arm{ragvsft.ArmBase},
		Abstention: ragvsft.AbstentionPatterns{"*"}}
	_, err := exp.Run(context.Background())
	require.ErrorIs(t, err, ragvsft.ErrBadAbstentionPattern)
	assert.Zero(t, model.calls.Load())
}

// scriptedModel answers each question with the reply written for it (by
// the question's text in the last message), or fails with its error.
type scriptedModel struct {
	replies map[string]string
	fail    map[string]error
}

func (m scriptedModel) Chat(_ context.Context, req ragvsft.ChatRequest) (ragvsft.ChatResponse, error) {
	last := req.Messages[len(req.Messages)-1].Content
	for q, err := range m.fail {
		if strings.Contains(last, q) {
			return ragvsft.ChatResponse{}, err
		}
	}
	for q, reply := range m.replies {
		if strings.Contains(last, q) {
			return ragvsft.ChatResponse{Content: reply, Model: "scripted"}, nil
		}
	}
	return ragvsft.ChatResponse{}, fmt.Errorf("no reply written for %q", last)
}

// failingEvaluator fails on one question and defers to NumericEvaluator on
// the others.
type failingEvaluator struct{ on string }

func (e failingEvaluator) Evaluate(ctx context.Context, q ragvsft.Question, answer string) (ragvsft.Verdict, error) {
	if q.ID == e.on {
		return ragvsft.Verdict{}, errors.New("judge said nothing")
	}
	return ragvsft.NumericEvaluator{}.Evaluate(ctx, q, answer)
}

// Every answer gets exactly one outcome; an abstention is never correct,
// even when the evaluator would say so.
func TestOutcomeOfEveryItem(t *testing.T) {
	ds := cities(t, 9)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	gold := map[string]ragvsft.Question{}
	for _, q := range qs {
		gold[q.ID] = q
	}
	num := func(id string) string { _, s, _ := ragvsft.ExtractNumber(gold[id].Gold); return s }
	cases := []struct {
		id, reply string
		fail      error
		want      ragvsft.Outcome
	}{
		{id: "line 1", reply: gold["line 1"].Gold, want: ragvsft.OutcomeCorrect},
		{id: "line 2", reply: "City_2 has about 5 inhabitants.", want: ragvsft.OutcomeWrong},
		{id: "line 3", reply: "I don't know.", want: ragvsft.OutcomeAbstained},
		{id: "line 4", reply: "I don't know, but it could be " + num("line 4") + ".", want: ragvsft.OutcomeAbstained},
		{id: "line 5", reply: "The population is unknown to most people but it is " + num("line 5"), want: ragvsft.OutcomeCorrect},
		{id: "line 6", reply: "Sorry, the answer is not in the context.", want: ragvsft.OutcomeAbstained},
		{id: "line 7", fail: errors.New("upstream said 503"), want: ragvsft.OutcomeError},
		{id: "line 8", reply: gold["line 8"].Gold, want: ragvsft.OutcomeError}, // the evaluator fails on it
		{id: "line 9", reply: "Unknown.", want: ragvsft.OutcomeAbstained},
	}
	m := scriptedModel{replies: map[string]string{}, fail: map[string]error{}}
	for _, c := range cases {
		if c.fail != nil {
			m.fail[gold[c.id].Text] = c.fail
		} else {
			m.replies[gold[c.id].Text] = c.reply
		}
	}
	// The evaluator alone would call line 4's disowned guess correct.
	v, err := ragvsft.NumericEvaluator{}.Evaluate(context.Background(), gold["line 4"], m.replies[gold["line 4"].Text])
	require.NoError(t, err)
	require.True(t, v.Correct)

	exp := &ragvsft.Experiment{Dataset: ds, Base: m, Arms: []ragvsft.Arm{ragvsft.ArmBase}, Evaluator: failingEvaluator{on: "line 8"}}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Results, len(cases))
	for i, c := range cases {
		r := rep.Results[i]
		require.Equal(t, c.id, r.QuestionID)
		assert.Equal(t, c.want, r.Outcome, "%s: %q", c.id, r.Answer)
		switch c.want {
		case ragvsft.OutcomeAbstained:
			assert.Equal(t, ragvsft.Verdict{}, r.Verdict, "%s: an abstention is not evaluated", c.id)
			assert.Empty(t, r.Error)
		case ragvsft.OutcomeError:
			assert.NotEmpty(t, r.Error)
		default:
			assert.Equal(t, c.want == ragvsft.OutcomeCorrect, r.Verdict.Correct, c.id)
		}
	}
	s, _ := rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, [4]int{2, 1, 4, 2}, [4]int{s.Correct, s.Wrong, s.Abstained, s.Errors})
	assert.Equal(t, 7, s.Answered)
	assert.InDelta(t, 2.0/7, s.Accuracy, 1e-12, "accuracy = correct / answered")
	assert.InDelta(t, 1.0/3, s.HallucinationRate, 1e-12, "hallucination = wrong / (correct + wrong)")

	// With abstention detection off, the refusals are just wrong.
	exp.Abstention = ragvsft.AbstentionPatterns{}
	rep, err = exp.Run(context.Background())
	require.NoError(t, err)
	s, _ = rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, [4]int{3, 4, 0, 2}, [4]int{s.Correct, s.Wrong, s.Abstained, s.Errors}, "line 4's guess is now correct")
}

// A checkpoint written before outcomes existed has no "outcome": a resumed
// run derives it (error, then the abstention rule, then the verdict) and
// summarizes old and new items alike, asking nothing again.
func TestCheckpointWithoutOutcomesIsDerived(t *testing.T) {
	ds := cities(t, 5)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	old := []ragvsft.Result{
		{Answer: qs[0].Gold, Verdict: ragvsft.Verdict{Correct: true, Type: "number", Extracted: "1", Expected: "1"}},
		{Answer: "City_2 has about 5 inhabitants.", Verdict: ragvsft.Verdict{Type: "number", Extracted: "5", Expected: "519610", Reason: "got 5, want 519610"}},
		{Answer: "I don't know.", Verdict: ragvsft.Verdict{Type: "number", Expected: "1", Reason: "no number in answer"}},
		{Error: "upstream said 503"},
	}
	var file strings.Builder
	for i := range old {
		old[i].Arm, old[i].QuestionID, old[i].Question, old[i].Gold, old[i].GoldRank = ragvsft.ArmBase, qs[i].ID, qs[i].Text, qs[i].Gold, -1
		b, err := json.Marshal(old[i])
		require.NoError(t, err)
		var line map[string]any
		require.NoError(t, json.Unmarshal(b, &line))
		delete(line, "outcome") // as written before outcomes existed
		b, err = json.Marshal(line)
		require.NoError(t, err)
		require.NotContains(t, string(b), "outcome")
		file.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(file.String()), 0o644))
	cp, err := ragvsft.OpenCheckpoint(path)
	require.NoError(t, err)
	defer cp.Close()
	prev := cp.Previous()
	require.Len(t, prev, 4)
	assert.Empty(t, prev[0].Outcome, "the file has none")

	model := &countingModel{Model: ragvsft.NewLocalModel()}
	exp := &ragvsft.Experiment{Dataset: ds, Base: model, Arms: []ragvsft.Arm{ragvsft.ArmBase}, Results: cp}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, model.calls.Load(), "only the missing item is asked")
	var got []ragvsft.Outcome
	for _, r := range rep.Results {
		got = append(got, r.Outcome)
	}
	assert.Equal(t, []ragvsft.Outcome{ragvsft.OutcomeCorrect, ragvsft.OutcomeWrong, ragvsft.OutcomeAbstained,
		ragvsft.OutcomeError, ragvsft.OutcomeAbstained}, got, "the local model abstains on the fifth")
	s, _ := rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, [4]int{1, 1, 2, 1}, [4]int{s.Correct, s.Wrong, s.Abstained, s.Errors})
	assert.Equal(t, 5, s.Correct+s.Wrong+s.Abstained+s.Errors)
	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| base | 1 | 1 | 2 | 1 | 25.0% |")
	assert.Contains(t, md.String(), "| 50.0% |", "hallucination rate 1/2")
}

// The article's offline run: every arm's four outcomes add up to the
// questions. The local base model abstains on every city; the fine-tuned
// one at the default 3 epochs answers every one, wrongly: a hallucination
// rate of 100%.
func TestCitiesOutcomesAddUp(t *testing.T) {
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, ragvsft.CitiesCount),
		Base:      ragvsft.NewLocalModel(),
		FineTuner: ragvsft.LocalFineTuner{},
		Retriever: newRetriever(t),
		Evaluator: ragvsft.AutoEvaluator{},
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	split := map[ragvsft.Arm][4]int{}
	for _, s := range rep.Arms {
		assert.Equal(t, ragvsft.CitiesCount, s.Correct+s.Wrong+s.Abstained+s.Errors, "arm %s", s.Arm)
		assert.Equal(t, s.Correct+s.Wrong+s.Abstained, s.Answered, "arm %s", s.Arm)
		split[s.Arm] = [4]int{s.Correct, s.Wrong, s.Abstained, s.Errors}
		t.Logf("%-15s correct %3d, wrong %3d, abstained %3d, errors %d", s.Arm, s.Correct, s.Wrong, s.Abstained, s.Errors)
	}
	assert.Equal(t, [4]int{0, 0, 100, 0}, split[ragvsft.ArmBase], "the base model says it does not know")
	assert.Equal(t, [4]int{0, 100, 0, 0}, split[ragvsft.ArmFineTuned], "3 epochs: invents every number")
	ft, _ := rep.Arm(ragvsft.ArmFineTuned)
	assert.Equal(t, 1.0, ft.HallucinationRate)
	base, _ := rep.Arm(ragvsft.ArmBase)
	assert.False(t, base.HasHallucinationRate(), "the base model answered nothing without abstaining")
	assert.Equal(t, [4]int{100, 0, 0, 0}, split[ragvsft.ArmRAG])
	for _, r := range rep.Results {
		if r.Outcome == ragvsft.OutcomeAbstained {
			assert.Equal(t, "I don't know.", r.Answer)
		}
	}
}
