package ragvsft_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// The retrievers below are the default one with one contract rule broken.
// They embed it as a Retriever, so that its RetrieveBatch is hidden and
// their Retrieve is what the Experiment calls.

// ignoresK returns every document, whatever k.
type ignoresK struct{ ragvsft.Retriever }

func (r ignoresK) Retrieve(ctx context.Context, q string, _ int) ([]ragvsft.Hit, error) {
	return r.Retriever.Retrieve(ctx, q, 1<<20) // more than the collection: all of it
}

// allRankZero ranks every hit first: a retriever that would score hit@1 =
// 100% if it were believed.
type allRankZero struct{ ragvsft.Retriever }

func (r allRankZero) Retrieve(ctx context.Context, q string, k int) ([]ragvsft.Hit, error) {
	hits, err := r.Retriever.Retrieve(ctx, q, k)
	for i := range hits {
		hits[i].Rank = 0
	}
	return hits, err
}

// unknownID returns, as its second hit, a document nobody indexed.
type unknownID struct{ ragvsft.Retriever }

func (r unknownID) Retrieve(ctx context.Context, q string, k int) ([]ragvsft.Hit, error) {
	hits, err := r.Retriever.Retrieve(ctx, q, k)
	if len(hits) > 1 {
		hits[1].Document.ID = "x"
	}
	return hits, err
}

// repeatsFirst returns its first hit again as its second.
type repeatsFirst struct{ ragvsft.Retriever }

func (r repeatsFirst) Retrieve(ctx context.Context, q string, k int) ([]ragvsft.Hit, error) {
	hits, err := r.Retriever.Retrieve(ctx, q, k)
	if len(hits) > 1 {
		hits[1].Document = hits[0].Document
	}
	return hits, err
}

// oneBased numbers its ranks from 1.
type oneBased struct{ ragvsft.Retriever }

func (r oneBased) Retrieve(ctx context.Context, q string, k int) ([]ragvsft.Hit, error) {
	hits, err := r.Retriever.Retrieve(ctx, q, k)
	for i := range hits {
		hits[i].Rank++
	}
	return hits, err
}

// passThrough breaks nothing: it proves the wrapping itself is sound.
type passThrough struct{ ragvsft.Retriever }

// A Retriever that breaks its contract fails the run before any model is
// asked or anything trained, naming its type, the question and the fault.
func TestBadRetrieverIsRefusedBeforeAnyModelCall(t *testing.T) {
	const n = 20
	for _, tt := range []struct {
		name      string
		retriever func(*ragvsft.ChromemRetriever) ragvsft.Retriever
		want      string // "" = accepted
	}{
		{"ignores k", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return ignoresK{r} },
			`ragvsft_test.ignoresK, question line 1: returned 20 hits for k=5 (and 19 more questions)`},
		{"all ranks 0", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return allRankZero{r} },
			`ragvsft_test.allRankZero, question line 1: hit 1 has rank 0 (ranks must be 0..4 in order) (and 19 more questions)`},
		{"unknown id", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return unknownID{r} },
			`ragvsft_test.unknownID, question line 1: hit 1 has unknown document id "x" (and 19 more questions)`},
		{"same document twice", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return repeatsFirst{r} },
			`ragvsft_test.repeatsFirst, question line 1: hits 0 and 1 are the same document "line 1" (and 19 more questions)`},
		{"ranks from 1", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return oneBased{r} },
			`ragvsft_test.oneBased, question line 1: hit 0 has rank 1 (ranks must be 0..4 in order) (and 19 more questions)`},
		{"sound", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return passThrough{r} }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			model := &countingModel{Model: ragvsft.NewLocalModel()}
			tuner := &countingFineTuner{}
			exp := &ragvsft.Experiment{
				Dataset:   cities(t, n),
				Base:      model,
				FineTuner: tuner,
				Retriever: tt.retriever(newRetriever(t)),
			}
			rep, err := exp.Run(context.Background())
			if tt.want == "" {
				require.NoError(t, err)
				assert.Len(t, rep.Results, 4*n)
				return
			}
			require.ErrorIs(t, err, ragvsft.ErrBadRetrieval)
			t.Log(err)
			assert.Equal(t, "ragvsft: retriever broke its contract: "+tt.want, err.Error())
			assert.Zero(t, model.calls.Load(), "no model was asked")
			assert.Zero(t, tuner.jobs.Load(), "nothing was trained")
			require.NotNil(t, rep)
			assert.Empty(t, rep.Results)
			assert.Nil(t, rep.Retrieval, "a broken retriever is not diagnosed as if it were sound")
		})
	}
}

// batchRankZero is the default retriever, batched, ranking every hit first.
type batchRankZero struct{ *ragvsft.ChromemRetriever }

func (r batchRankZero) RetrieveBatch(ctx context.Context, qs []string, k int) ([][]ragvsft.Hit, error) {
	all, err := r.ChromemRetriever.RetrieveBatch(ctx, qs, k)
	for _, hits := range all {
		for i := range hits {
			hits[i].Rank = 0
		}
	}
	return all, err
}

// batchShort answers one query fewer than it was asked.
type batchShort struct{ *ragvsft.ChromemRetriever }

func (r batchShort) RetrieveBatch(ctx context.Context, qs []string, k int) ([][]ragvsft.Hit, error) {
	all, err := r.ChromemRetriever.RetrieveBatch(ctx, qs, k)
	return all[:len(all)-1], err
}

// A BatchRetriever's hits are checked alike.
func TestBadBatchRetrieverIsRefused(t *testing.T) {
	for _, tt := range []struct {
		name      string
		retriever func(*ragvsft.ChromemRetriever) ragvsft.Retriever
		want      string
	}{
		{"all ranks 0", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return batchRankZero{r} },
			`ragvsft_test.batchRankZero, question line 1: hit 1 has rank 0 (ranks must be 0..4 in order) (and 9 more questions)`},
		{"one result short", func(r *ragvsft.ChromemRetriever) ragvsft.Retriever { return batchShort{r} },
			`ragvsft_test.batchShort returned 9 results for 10 questions`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			model := &countingModel{Model: ragvsft.NewLocalModel()}
			exp := &ragvsft.Experiment{Dataset: cities(t, 10), Base: model, Retriever: tt.retriever(newRetriever(t)), Arms: []ragvsft.Arm{ragvsft.ArmRAG}}
			_, err := exp.Run(context.Background())
			require.ErrorIs(t, err, ragvsft.ErrBadRetrieval)
			assert.Equal(t, "ragvsft: retriever broke its contract: "+tt.want, err.Error())
			assert.Zero(t, model.calls.Load())
		})
	}
}

// Over the wire: a retriever on OpenAI embeddings that ranks every hit
// first is refused before the server sees a chat completion or a job.
func TestBadRetrieverOverTheWireSpendsNoChat(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	cfg := wireConfig(s)
	base, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	embedder, err := ragvsft.NewOpenAIEmbedder(cfg, "")
	require.NoError(t, err)
	chromem, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{Embed: embedder.Embed, Model: embedder.Model()})
	require.NoError(t, err)
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, 10),
		Base:      base,
		BaseModel: ragvsft.DefaultBaseModel,
		FineTuner: &ragvsft.OpenAIFineTuner{Config: cfg, PollInterval: time.Millisecond},
		Retriever: allRankZero{chromem},
	}
	_, err = exp.Run(context.Background())
	require.ErrorIs(t, err, ragvsft.ErrBadRetrieval)
	assert.Contains(t, err.Error(), "ragvsft_test.allRankZero, question line 1: hit 1 has rank 0")
	st := s.Stats()
	assert.Positive(t, st.Embeddings, "the index and the queries were embedded")
	assert.Zero(t, st.ChatCompletions)
	assert.Zero(t, st.FilesUploaded)
	assert.Zero(t, st.JobsCreated)
}

func TestCheckDocumentsNamesTheBadDocument(t *testing.T) {
	for _, tc := range []struct {
		docs []ragvsft.Document
		want string
	}{
		{nil, "no documents"},
		{[]ragvsft.Document{{ID: "a", Text: "x"}, {Text: "y"}}, "document 2 has an empty ID"},
		{[]ragvsft.Document{{ID: "a", Text: ""}}, `document "a" has an empty text`},
		{[]ragvsft.Document{{ID: "a", Text: "x"}, {ID: "b", Text: "y"}, {ID: "a", Text: "z"}}, `documents 1 and 3 have the same ID "a"`},
	} {
		err := ragvsft.CheckDocuments(tc.docs)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	assert.NoError(t, ragvsft.CheckDocuments([]ragvsft.Document{{ID: "a", Text: "x"}}))
}
