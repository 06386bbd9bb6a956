package ragvsft

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/philippgille/chromem-go"
)

// DefaultLocalEmbeddingDims is the vector length of the local embedding
// (NewLocalEmbeddingFunc, FitLocalEmbedding) when asked for dims <= 0. 1024
// buckets keep hash collisions between the features of a short question
// and a short passage rare while a 10,000-document index stays around 40 MB.
const DefaultLocalEmbeddingDims = 1024

// localEmbeddingVersion names the feature recipe of NewLocalEmbeddingFunc,
// and localFittedVersion that of FitLocalEmbedding. They are part of the
// model name stored beside persisted embeddings, so a change of recipe
// re-embeds instead of mixing vectors of two recipes.
const (
	localEmbeddingVersion = "ragvsft-local-hash-v2"
	localFittedVersion    = "ragvsft-local-idf-v1"
)

// LocalEmbeddingModel is the name a retriever records beside the embeddings
// of NewLocalEmbeddingFunc(dims) (ChromemRetriever's default, and
// pgvector.Retriever's), so vectors of another recipe or length are
// re-embedded, not mixed with them.
func LocalEmbeddingModel(dims int) string {
	if dims <= 0 {
		dims = DefaultLocalEmbeddingDims
	}
	return localEmbeddingVersion + "/" + strconv.Itoa(dims)
}

// Feature weights before the corpus's: whole words carry the meaning a
// question and its passage share, so they weigh most; bigrams reward
// shared phrases; character n-grams give partial credit for inflections
// and compounds ("cost"/"costs", "Einwohner"/"Einwohnerzahl") and glued
// tokens ("City_17" vs "17"). They were set on the companies (before IDF)
// and are checked on every testdata knowledge base (see
// TestLocalEmbeddingKnowledgeBases); the corpus's IDF then scales each
// feature.
const (
	unigramWeight = 2.0
	// stopwordWeight is the weight of one of NewLocalEmbeddingFunc's
	// English function words, which FitLocalEmbedding does not use.
	stopwordWeight = 0.5
	bigramWeight   = 1.0
	partWeight     = 1.0
	// charGramMass is the L2 mass of all n-grams of one word together, so a
	// long word ("headquarters", 33 n-grams) does not outweigh a short name.
	charGramMass = 2.0
	minCharGram  = 3
	maxCharGram  = 5
)

// NewLocalEmbeddingFunc returns an embedding function that needs no
// network, no model weights and no state, for one text at a time with no
// corpus to learn from: ragvsfttest serves it as its embedding model. To
// search a corpus use FitLocalEmbedding, which ChromemRetriever does by
// default: it learns which words are common from the corpus, in any
// language. dims is the vector length; dims <= 0 means
// DefaultLocalEmbeddingDims.
//
// The features are FitLocalEmbedding's (see LocalEmbedding) with no IDF,
// except that, lacking a corpus, about 130 built-in English function words
// ("the", "of", "who") weigh 0.5 instead of 2 and get no n-grams, nor a
// bigram of two of them. Its limits: other languages' function words
// ("die", "ist", "de") weigh as much as names, and so do a corpus's
// common words ("River"), so a question can rank the passage that shares
// its template above the one that shares its subject. Measured with
// ChromemRetriever on the testdata knowledge bases (hit@5): cities 100%,
// companies 98%, people 100%, products 86%, rivers 68%, german 40%;
// FitLocalEmbedding finds the gold passage in the top 5 on all of them.
//
// The function honours ctx (it returns ctx.Err() once ctx is done) and
// returns an error for a text with no visible characters. It is safe for
// concurrent use.
func NewLocalEmbeddingFunc(dims int) chromem.EmbeddingFunc {
	e := &LocalEmbedding{dims: dims}
	return e.Embed
}

// englishStopwords are the English function words of NewLocalEmbeddingFunc
// (FitLocalEmbedding learns what is common from its corpus instead).
var englishStopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at
		be because been before being below between both but by can could did do does doing down
		during each few for from further had has have having he her here hers herself him himself
		his how i if in into is it its itself just me more most my myself no nor not now of off on
		once only or other our ours ourselves out over own same she should so some such than that
		the their theirs them themselves then there these they this those through to too under
		until up very was we were what when where which while who whom why will with would you
		your yours yourself yourselves`) {
		m[w] = true
	}
	return m
}()

// LocalEmbedding is the offline embedding of ChromemRetriever: hashed
// word, word-pair and character n-gram features weighted by how rare each
// is in the corpus it was fitted on (TF-IDF, as a search engine weighs
// terms), so a question finds the passage that shares its distinctive
// words whatever the language. Make one with FitLocalEmbedding over the
// documents to be searched, embed those documents and the questions with
// Embed, and record Model beside stored vectors.
//
// Features. The text is lower-cased and cut into words (runs of letters,
// digits, marks and underscores; "City_17" is one word, and also yields
// "city" and "17"). Each word contributes itself (weight 2), the pair with
// the next word (weight 1), the parts of an underscored word (weight 1),
// and, unless it is a number, its character n-grams of length 3 to 5
// taken from "<word>" (the angle brackets mark the word's edges, so
// "_17>" differs from the "_17" inside "City_170"), each weighing
// 2/sqrt(number of n-grams of the word), so all of a word's n-grams
// together weigh as much as the word.
//
// Weights from the corpus. Each feature's weight is multiplied by its
// inverse document frequency over the fitted texts, as Lucene's BM25
// computes it: ln(1 + (N - df + 0.5)/(df + 0.5)) for a feature found in df
// of N texts. A word in every passage ("the", "die", "River") weighs next
// to nothing, a name found in one weighs most, with no list of any
// language's function words. A feature of a question that no fitted text
// holds is dropped, as TfidfVectorizer drops words outside its vocabulary:
// it can meet no document, and hashed it would only add collisions. A
// feature of weight w seen n times in one text weighs w*(1+ln n)
// (sublinear, so a repeated word does not drown the others). Every feature
// is hashed with 64-bit FNV-1a into one of the vector's buckets with a
// sign taken from the hash (signed feature hashing, so collisions cancel
// out on average instead of piling up), and the vector is L2-normalized,
// as chromem requires. The same text and corpus always give the same
// vector (bit for bit on one CPU architecture; others may differ in the
// last bit of a float).
//
// Why it works for retrieval: the cosine of two such vectors approximates
// the IDF-weighted overlap of their words and word pieces. Its limits: it
// is purely lexical. It knows no synonyms or paraphrases ("inhabitants"
// and "people" share nothing) and no word order beyond pairs; of several
// facts about one entity it tells the asked one only by shared words ("Who
// founded X?" and "X was founded in 1918" share "founded"). Use a neural
// embedding (for example OpenAI's) when questions and passages do not
// share words. Measured results are in the README.
//
// The zero value embeds as NewLocalEmbeddingFunc(0), with no corpus. A
// LocalEmbedding is immutable once made and safe for concurrent use.
type LocalEmbedding struct {
	dims  int
	texts int            // fitted on; 0: no corpus
	df    map[string]int // feature -> fitted texts holding it
	sum   uint64         // order-free fingerprint of (feature, df) pairs
}

// FitLocalEmbedding counts, for every feature of the local embedding, how
// many of texts hold it, and returns the embedding weighted by those
// counts. dims is the vector length; dims <= 0 means
// DefaultLocalEmbeddingDims. Texts with no words count as texts with no
// features. Fitting is linear in the texts' length; the counts take about
// a hundred bytes per distinct feature.
func FitLocalEmbedding(texts []string, dims int) *LocalEmbedding {
	e := &LocalEmbedding{dims: dims, texts: len(texts), df: map[string]int{}}
	for _, t := range texts {
		for _, f := range localFeatures(t, nil) {
			e.df[f.text]++
		}
	}
	h := fnv.New64a()
	for f, n := range e.df {
		// Summed, so the fingerprint does not depend on map order.
		h.Reset()
		h.Write([]byte(f))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(nil, int64(n), 10))
		e.sum += h.Sum64()
	}
	return e
}

// Dims returns the vector length.
func (e *LocalEmbedding) Dims() int {
	if e.dims <= 0 {
		return DefaultLocalEmbeddingDims
	}
	return e.dims
}

// Model names the embedding: the recipe's version, the vector length, and
// a fingerprint of the fitted counts, so vectors of one corpus are never
// taken for another's (the weights, hence every vector, change with the
// corpus). The zero value is named as NewLocalEmbeddingFunc's vectors.
func (e *LocalEmbedding) Model() string {
	if e.texts == 0 {
		return LocalEmbeddingModel(e.dims)
	}
	return fmt.Sprintf("%s/%d/%d-%016x", localFittedVersion, e.Dims(), e.texts, e.sum)
}

// Embed embeds text; its signature is chromem.EmbeddingFunc. It honours
// ctx and returns an error for a text with no visible characters.
func (e *LocalEmbedding) Embed(ctx context.Context, text string) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var stop map[string]bool
	if e.texts == 0 {
		stop = englishStopwords
	}
	feats := localFeatures(text, stop)
	if len(feats) == 0 {
		return nil, errEmptyText
	}
	if e.texts > 0 {
		kept := feats[:0]
		for _, f := range feats {
			if df := e.df[f.text]; df > 0 {
				f.weight *= bm25IDF(e.texts, df)
				kept = append(kept, f)
			}
		}
		feats = kept
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return hashFeatures(feats, e.Dims()), nil
}

// bm25IDF is Lucene's BM25 inverse document frequency of a feature held
// by df of n texts: always positive, about ln(n/df) for rare features and
// near 0 for one in every text.
func bm25IDF(n, df int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// errEmptyText is returned when there is nothing to embed.
var errEmptyText = errors.New("ragvsft: cannot embed a text with no visible characters")

// feature is one hashed feature: its text, weight and how often it occurred.
type feature struct {
	text   string
	weight float64
	n      int
}

// localFeatures returns text's features, each once, in order of first
// occurrence, so the float sums of hashFeatures add up in the same order
// every time and a vector is bit-for-bit stable. Words in stop (nil for
// none) weigh stopwordWeight and get no n-grams.
func localFeatures(text string, stop map[string]bool) []feature {
	words := embedWords(text)
	if len(words) == 0 {
		// Punctuation only: the text itself is the one feature, so such a
		// text still finds itself.
		if t := strings.TrimSpace(text); t != "" {
			return []feature{{text: "x:" + t, weight: unigramWeight, n: 1}}
		}
		return nil
	}
	var feats []feature
	index := make(map[string]int, len(words)*16)
	add := func(f string, w float64) {
		if i, ok := index[f]; ok {
			feats[i].n++
			feats[i].weight = max(feats[i].weight, w)
			return
		}
		index[f] = len(feats)
		feats = append(feats, feature{text: f, weight: w, n: 1})
	}
	for i, w := range words {
		isStop := stop[w]
		if isStop {
			add("w:"+w, stopwordWeight)
		} else {
			add("w:"+w, unigramWeight)
		}
		if i+1 < len(words) && !(isStop && stop[words[i+1]]) {
			add("b:"+w+" "+words[i+1], bigramWeight)
		}
		if strings.Contains(w, "_") {
			for _, part := range strings.Split(w, "_") {
				if part != "" {
					add("w:"+part, partWeight)
				}
			}
		}
		if isStop || isDigits(w) {
			// Pieces of a number ("967" of "1967825") or of a function
			// word say nothing about meaning and only add hash collisions.
			continue
		}
		r := []rune("<" + w + ">")
		grams := 0
		for n := minCharGram; n <= maxCharGram; n++ {
			grams += max(0, len(r)-n+1)
		}
		cw := charGramMass / math.Sqrt(float64(max(grams, 1)))
		for n := minCharGram; n <= maxCharGram; n++ {
			for s := 0; s+n <= len(r); s++ {
				add("c:"+string(r[s:s+n]), cw)
			}
		}
	}
	return feats
}

// isDigits reports whether w is made of digits only.
func isDigits(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// embedWords lower-cases text and splits it into words.
func embedWords(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_')
	})
}

// hashFeatures turns features into a signed, hashed, L2-normalized vector.
func hashFeatures(feats []feature, dims int) []float32 {
	acc := make([]float64, dims)
	h := fnv.New64a()
	for _, ft := range feats {
		h.Reset()
		h.Write([]byte(ft.text))
		sum := h.Sum64()
		// Sublinear: n occurrences weigh w*(1+ln n), not w*n.
		w := ft.weight * (1 + math.Log(float64(ft.n)))
		if sum>>63 == 1 {
			w = -w
		}
		acc[(sum&(1<<63-1))%uint64(dims)] += w
	}
	var norm float64
	for _, v := range acc {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dims)
	if norm == 0 {
		// No feature (a question sharing nothing with the corpus) or
		// every feature cancelled out: a fixed unit vector keeps
		// chromem's "normalized" contract.
		out[0] = 1
		return out
	}
	for i, v := range acc {
		out[i] = float32(v / norm)
	}
	return out
}
