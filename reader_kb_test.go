package ragvsft_test

import (
	"context"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// readerKBs are the knowledge bases the reader is measured on: the cities
// and every testdata knowledge base of chat examples. With the default
// retriever (the local embedding fitted to each knowledge base) the gold
// passage is in the top 5 for every question of each, and the rag arm is
// right on all of them (measured; issue 9 asks for 95%). Before the
// embedding was fitted to the corpus (no IDF, English function words only)
// hit@5 was 0.86, 0.68 and 0.40 on products, rivers and german, and rag as
// low.
var readerKBs = []struct {
	kb string
}{
	{"cities"},
	{"companies.jsonl"},
	{"people.jsonl"},
	{"products.jsonl"},
	{"rivers.jsonl"},
	{"german.jsonl"},
	{"explorers.jsonl"},
	// french.jsonl, made after the reader and the embedding were fitted,
	// to check them, is measured in the README and not at the target
	// (see there); fitting the reader to it would defeat its purpose.
}

func readerKB(t *testing.T, kb string) *ragvsft.JSONLDataset {
	t.Helper()
	if kb == "cities" {
		return cities(t, ragvsft.CitiesCount)
	}
	return loadKB(t, kb)
}

// ragOutcomes runs the rag arm of the offline experiment with the local
// base model and the automatic evaluator.
type ragOutcomes struct {
	correct, wrong, abstained int
	retrieved, readRight      int // gold passage retrieved; and then right
	rep                       *ragvsft.Report
}

func runRAG(t *testing.T, ds ragvsft.Dataset, r ragvsft.Retriever) ragOutcomes {
	t.Helper()
	exp := &ragvsft.Experiment{
		Dataset:   ds,
		Base:      ragvsft.NewLocalModel(),
		Retriever: r,
		Evaluator: ragvsft.AutoEvaluator{},
		Arms:      []ragvsft.Arm{ragvsft.ArmRAG},
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	o := ragOutcomes{rep: rep}
	shown := 0
	for _, r := range rep.Results {
		require.Empty(t, r.Error, r.QuestionID)
		switch {
		case r.Verdict.Correct:
			o.correct++
		case r.Answer == "I don't know.":
			o.abstained++
		default:
			o.wrong++
		}
		if r.GoldRank >= 0 {
			o.retrieved++
			if r.Verdict.Correct {
				o.readRight++
			}
		}
		if !r.Verdict.Correct && r.GoldRank >= 0 && shown < 5 {
			shown++
			t.Logf("missed %s (gold rank %d): %q -> %q: %s", r.QuestionID, r.GoldRank, r.Question, r.Answer, r.Verdict.Reason)
		}
	}
	return o
}

// The offline experiment's rag arm on every testdata knowledge base and
// the cities, with the local model, the default retriever and the
// automatic evaluator: the retriever brings the gold passage into the top
// 5 for at least 95% of the questions, and the reader answers from the
// retrieved passages whatever the question's wording (no '?',
// imperatives), inflections, language and facts per entity: right on at
// least 95% of each (issue 9's target) and never wrong (it abstains
// instead).
func TestReaderOnKnowledgeBases(t *testing.T) {
	for _, tt := range readerKBs {
		t.Run(tt.kb, func(t *testing.T) {
			ds := readerKB(t, tt.kb)
			o := runRAG(t, ds, newRetriever(t))
			n := ds.Len()
			t.Logf("rag %d/%d (%.1f%%), %d wrong, %d abstained; gold retrieved for %d, read right %d; hit@1 %.2f, hit@%d %.2f",
				o.correct, n, 100*float64(o.correct)/float64(n), o.wrong, o.abstained, o.retrieved, o.readRight,
				o.rep.Retrieval.HitAt1, o.rep.Retrieval.K, o.rep.Retrieval.HitAtK)
			assert.GreaterOrEqual(t, float64(o.readRight), 0.95*float64(o.retrieved), "right when the gold is retrieved")
			assert.Zero(t, o.wrong, "wrong answers instead of abstentions")
			assert.GreaterOrEqual(t, float64(o.correct), 0.95*float64(n), "rag accuracy")
			assert.GreaterOrEqual(t, o.rep.Retrieval.HitAtK, 0.95, "hit@%d", o.rep.Retrieval.K)
		})
	}
}

// entityRetriever stands in for a retriever that always finds the entity:
// for a question it returns every fact of the question's entity (the
// documents whose ID shares the gold's prefix up to its last '-'), with
// or without the gold, then other documents up to k. So the reader is
// measured apart from retrieval, on the hardest passage set: all the
// entity's other facts beside (or instead of) the asked one.
type entityRetriever struct {
	gold     map[string]string // retrievalQuery -> gold document ID
	withGold bool
	docs     []ragvsft.Document
}

func (r *entityRetriever) Index(_ context.Context, docs []ragvsft.Document) error {
	r.docs = docs
	return nil
}

func (r *entityRetriever) Retrieve(_ context.Context, query string, k int) ([]ragvsft.Hit, error) {
	gold := r.gold[query]
	prefix := gold
	if i := strings.LastIndexByte(gold, '-'); i > 0 {
		prefix = gold[:i+1]
	}
	var same, other []ragvsft.Document
	for _, d := range r.docs {
		switch {
		case d.ID == gold && !r.withGold:
		case d.ID == gold || strings.HasPrefix(d.ID, prefix) && prefix != gold:
			same = append(same, d)
		default:
			other = append(other, d)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(query))
	seed := int(h.Sum32() % 1000)
	for i := 0; len(same) < k && len(other) > 0; i++ {
		j := (seed + 7*i) % len(other)
		same = append(same, other[j])
		other = append(other[:j], other[j+1:]...)
	}
	// The entity's facts at ranks that depend on the question.
	rot := seed % len(same)
	same = append(same[rot:], same[:rot]...)
	hits := make([]ragvsft.Hit, len(same))
	for i, d := range same {
		hits[i] = ragvsft.Hit{Document: d, Rank: i, Score: 1 - float64(i)/float64(len(same))}
	}
	return hits, nil
}

// retrievalQuery is what the experiment retrieves with: the question's
// user turns, one per line, then its text.
func retrievalQuery(q ragvsft.Question) string {
	var b strings.Builder
	for _, m := range q.Messages {
		if m.Role == ragvsft.RoleUser {
			b.WriteString(m.Content + "\n")
		}
	}
	return b.String() + q.Text
}

// The reader apart from retrieval: with every fact of the question's
// entity among the passages it picks the asked one on at least 95% of
// each knowledge base; with the asked fact removed it abstains rather than
// answer from another fact (never more than once in a hundred).
func TestReaderPicksTheAskedFact(t *testing.T) {
	for _, tt := range readerKBs {
		t.Run(tt.kb, func(t *testing.T) {
			ds := readerKB(t, tt.kb)
			qs, err := ragvsft.Questions(ds)
			require.NoError(t, err)
			gold := map[string]string{}
			for _, q := range qs {
				gold[retrievalQuery(q)] = q.DocID
			}
			n := ds.Len()
			with := runRAG(t, ds, &entityRetriever{gold: gold, withGold: true})
			without := runRAG(t, ds, &entityRetriever{gold: gold})
			for _, r := range without.rep.Results {
				if !r.Verdict.Correct && r.Answer != "I don't know." {
					t.Logf("DBG %q -> %q", r.Question, r.Answer)
				}
			}
			t.Logf("gold among the entity's facts: %d/%d right, %d wrong; gold removed: %d wrong, %d abstained",
				with.correct, n, with.wrong, without.wrong, without.abstained)
			assert.Equal(t, n, with.retrieved)
			assert.GreaterOrEqual(t, float64(with.correct), 0.95*float64(n))
			assert.LessOrEqual(t, without.wrong, n/100)
			assert.LessOrEqual(t, with.wrong, n/100)
		})
	}
}

// The local model gives its reader the whole conversation: a follow-up
// question with a pronoun is answered about the entity of the earlier
// turns, from the passages of the last.
func TestLocalModelReadsTheConversation(t *testing.T) {
	rag := strings.NewReplacer("{question}", "How deep is it?", "{context}",
		"[0]: \nThe maximum depth of the Orm River is 40.2 m.\n\n[1]: \nThe maximum depth of the Pell River is 12.1 m.\n\n").
		Replace(ragvsft.ArticlePrompts.RAG)
	conv := []ragvsft.Message{
		{Role: ragvsft.RoleSystem, Content: ragvsft.ArticlePrompts.System},
		{Role: ragvsft.RoleUser, Content: "How long is the Pell River?"},
		{Role: ragvsft.RoleAssistant, Content: "The Pell River is 99 km long."},
		{Role: ragvsft.RoleUser, Content: rag},
	}
	resp, err := ragvsft.NewLocalModel().Chat(context.Background(), ragvsft.ChatRequest{Messages: conv})
	require.NoError(t, err)
	assert.Equal(t, "The maximum depth of the Pell River is 12.1 m.", resp.Content)

	// Without the earlier turns "it" names nothing: the model abstains.
	resp, err = ragvsft.NewLocalModel().Chat(context.Background(), ragvsft.ChatRequest{Messages: conv[3:]})
	require.NoError(t, err)
	assert.Equal(t, "I don't know.", resp.Content)
}

// The reader on held-out wordings: testdata/companies_questions.jsonl asks
// about every fact of companies.jsonl in words the passages do not use
// ("came into being", "set up", "head office"), so no sentence meets the
// question's attribute words; the reader then takes, of the entity's
// sentences, the one offering the type of answer asked (a year, a person,
// a place). With the default retriever it answers all 180 (the new reader
// of issue 9 answered 33, the one before it 111); apart from retrieval,
// with the asked fact removed from the entity's facts, it abstains.
func TestReaderOnHeldOutWording(t *testing.T) {
	ds := loadKB(t, "companies.jsonl")
	qs, err := ragvsft.LoadQuestions("testdata/companies_questions.jsonl")
	require.NoError(t, err)
	held, err := ragvsft.WithQuestions(ds, qs)
	require.NoError(t, err)
	o := runRAG(t, held, newRetriever(t))
	n := len(o.rep.Results)
	require.Equal(t, 180, n)
	t.Logf("held-out rag %d/%d, %d wrong, %d abstained; gold retrieved %d, read right %d",
		o.correct, n, o.wrong, o.abstained, o.retrieved, o.readRight)
	assert.GreaterOrEqual(t, o.correct, 176, "held-out rag accuracy (180/180 measured)")
	assert.LessOrEqual(t, o.wrong, n/100)

	asked, err := ragvsft.Questions(held)
	require.NoError(t, err)
	gold := map[string]string{}
	for _, q := range asked {
		gold[retrievalQuery(q)] = q.DocID
	}
	with := runRAG(t, held, &entityRetriever{gold: gold, withGold: true})
	without := runRAG(t, held, &entityRetriever{gold: gold})
	t.Logf("held-out, gold among the entity's facts: %d/%d right, %d wrong; gold removed: %d wrong, %d abstained",
		with.correct, n, with.wrong, without.wrong, without.abstained)
	assert.GreaterOrEqual(t, float64(with.correct), 0.95*float64(n))
	assert.LessOrEqual(t, with.wrong, n/100)
	assert.LessOrEqual(t, without.wrong, n/100)
}
