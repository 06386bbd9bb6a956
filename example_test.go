package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ragvsft/ragvsft"
)

// The article's experiment on 20 of its cities, offline: the embedded local
// model is fine-tuned on the cities (auto hyperparameters: 5 epochs for 20
// examples, as OpenAI resolves them), a chromem-go index holds the same
// sentences, and all four arms answer the same questions. The fine-tuned
// model has memorized a few cities; retrieval knows them all.
func ExampleExperiment() {
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		panic(err)
	}
	retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{}) // in memory, local embeddings
	if err != nil {
		panic(err)
	}
	exp := &ragvsft.Experiment{
		Dataset:   ds,
		Base:      ragvsft.NewLocalModel(),
		FineTuner: ragvsft.LocalFineTuner{},
		Retriever: retriever,
	}
	rep, err := exp.Run(context.Background())
	if err != nil {
		panic(err)
	}
	for _, arm := range rep.Arms {
		fmt.Printf("%-15s %2d/%d correct\n", arm.Arm, arm.Correct, arm.Answered)
	}
	fmt.Printf("retrieval hit@%d: %.0f%%\n", rep.Retrieval.K, 100*rep.Retrieval.HitAtK)
	for _, r := range rep.Results {
		if r.QuestionID == "line 2" {
			fmt.Printf("%s: %q\n", r.Arm, r.Answer)
		}
	}
	// Output:
	// base             0/20 correct
	// fine-tuned       0/20 correct
	// rag             20/20 correct
	// fine-tuned+rag  20/20 correct
	// retrieval hit@5: 100%
	// base: "I don't know."
	// fine-tuned: "City_2 has about 924610 inhabitants inhabitants."
	// rag: "City_2 has about 519610 inhabitants."
	// fine-tuned+rag: "City_2 has about 519610 inhabitants."
}

// keywordRetriever is a Retriever plug-in: it ranks documents by how many
// of the query's words they contain. Any search engine, vector database or
// reranker plugs in the same way.
type keywordRetriever struct {
	docs []ragvsft.Document
}

func (r *keywordRetriever) Index(_ context.Context, docs []ragvsft.Document) error {
	r.docs = slices.Clone(docs)
	return nil
}

func (r *keywordRetriever) Retrieve(ctx context.Context, query string, k int) ([]ragvsft.Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("%w, got %d", ragvsft.ErrBadK, k)
	}
	words := strings.Fields(strings.ToLower(strings.Trim(query, "?")))
	hits := make([]ragvsft.Hit, len(r.docs))
	for i, d := range r.docs {
		text := strings.Fields(strings.ToLower(strings.Trim(d.Text, ".")))
		score := 0
		for _, w := range words {
			if slices.Contains(text, w) {
				score++
			}
		}
		hits[i] = ragvsft.Hit{Document: d, Score: float64(score)}
	}
	slices.SortStableFunc(hits, func(a, b ragvsft.Hit) int { return int(b.Score - a.Score) })
	hits = hits[:min(k, len(hits))]
	for i := range hits {
		hits[i].Rank = i
	}
	return hits, ctx.Err()
}

// A custom Retriever replaces the default chromem-go index; the report then
// diagnoses it like any other (hit@k, MRR, the gold document's rank).
func ExampleRetriever() {
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(30, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		panic(err)
	}
	exp := &ragvsft.Experiment{
		Dataset:   ds,
		Base:      ragvsft.NewLocalModel(),
		Retriever: &keywordRetriever{},
		Arms:      []ragvsft.Arm{ragvsft.ArmRAG},
		K:         3,
	}
	rep, err := exp.Run(context.Background())
	if err != nil {
		panic(err)
	}
	rag, _ := rep.Arm(ragvsft.ArmRAG)
	fmt.Printf("rag: %d/%d correct, hit@%d %.0f%%, MRR %.2f\n", rag.Correct, rag.Answered, rep.Retrieval.K, 100*rep.Retrieval.HitAtK, rep.Retrieval.MRR)
	// Output:
	// rag: 30/30 correct, hit@3 100%, MRR 1.00
}

// withinPercent is an Evaluator plug-in: a numeric answer counts as correct
// when it is within a given percentage of the gold number. Its verdict says
// what it read, so a report shows why an answer was judged wrong.
type withinPercent float64

func (p withinPercent) Evaluate(_ context.Context, q ragvsft.Question, answer string) (ragvsft.Verdict, error) {
	want, wantText, ok := ragvsft.ExtractNumber(q.Gold)
	if !ok {
		return ragvsft.Verdict{}, fmt.Errorf("question %s: no number in gold answer %q", q.ID, q.Gold)
	}
	v := ragvsft.Verdict{Expected: wantText}
	got, gotText, ok := ragvsft.ExtractNumber(answer)
	if !ok {
		v.Reason = "no number in answer"
		return v, nil
	}
	v.Extracted = gotText
	v.Correct = got >= want*(1-float64(p)/100) && got <= want*(1+float64(p)/100)
	if !v.Correct {
		v.Reason = fmt.Sprintf("more than %g%% off", float64(p))
	}
	return v, nil
}

// A custom Evaluator decides what counts as correct. Set it as
// Experiment.Evaluator; here it is called directly.
func ExampleEvaluator() {
	var eval ragvsft.Evaluator = withinPercent(5)
	q := ragvsft.Question{ID: "line 1", Text: "What is the population of City_1?", Gold: "City_1 has about 1967825 inhabitants."}
	for _, answer := range []string{
		"City_1 has about 1,967,825 inhabitants.",
		"Roughly 2 million people live there.",
		"About 1.5 million.",
		"I don't know.",
	} {
		v, err := eval.Evaluate(context.Background(), q, answer)
		if err != nil {
			panic(err)
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-5v extracted %q %s", v.Correct, v.Extracted, v.Reason)))
	}
	// Output:
	// true  extracted "1,967,825"
	// true  extracted "2 million"
	// false extracted "1.5 million" more than 5% off
	// false extracted "" no number in answer
}
