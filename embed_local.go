package ragvsft

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/philippgille/chromem-go"
)

// DefaultLocalEmbeddingDims is the vector length NewLocalEmbeddingFunc uses
// when asked for dims <= 0. 1024 buckets keep hash collisions between the
// features of a short question and a short passage rare (see
// NewLocalEmbeddingFunc) while a 10,000-document index stays around 40 MB.
const DefaultLocalEmbeddingDims = 1024

// localEmbeddingVersion names the feature recipe of NewLocalEmbeddingFunc.
// It is part of the model name stored beside persisted embeddings, so a
// change of recipe re-embeds instead of mixing vectors of two recipes.
const localEmbeddingVersion = "ragvsft-local-hash-v2"

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

// Feature weights. Whole words carry the meaning a question and its passage
// share, so they weigh most; bigrams reward shared phrases; character n-grams
// give partial credit for inflections and glued tokens ("City_17" vs "17").
const (
	unigramWeight  = 2.0
	stopwordWeight = 0.5
	bigramWeight   = 1.0
	partWeight     = 1.0
	// charGramMass is the L2 mass of all n-grams of one word together, so a
	// long word ("headquarters", 33 n-grams) does not outweigh a short name.
	charGramMass = 2.0
	minCharGram  = 3
	maxCharGram  = 5
)

// NewLocalEmbeddingFunc returns an embedding function that needs no network,
// no model weights and no state: the offline default of ChromemRetriever.
// dims is the vector length; dims <= 0 means DefaultLocalEmbeddingDims.
//
// The text is lower-cased and cut into words (runs of letters, digits,
// marks and underscores; "City_17" is one word, and also yields "city" and
// "17"). Each word contributes:
//   - itself, with weight 2, or 0.5 for one of about 130 built-in English
//     function words ("the", "of", "who");
//   - the bigram with the next word (weight 1), unless both are function words;
//   - the parts of an underscored word (weight 1);
//   - its character n-grams of length 3 to 5 taken from "<word>" (the angle
//     brackets mark the word's edges, so "_17>" differs from the "_17" inside
//     "City_170"), each weighing 2/sqrt(number of n-grams of the word), so
//     all of a word's n-grams together weigh as much as the word. Numbers and
//     function words get none: their pieces mean nothing.
//
// Every feature is hashed with 64-bit FNV-1a into one of dims buckets with a
// sign taken from the hash (signed feature hashing, so collisions cancel out
// on average instead of piling up). A feature of weight w seen n times weighs
// w*(1+ln n) (sublinear, so a repeated word does not drown the others), and
// the vector is L2-normalized, as chromem requires. The same text always
// gives the same vector (bit for bit on one CPU architecture; others may
// differ in the last bit of a float).
//
// Why it works for retrieval: the cosine of two such vectors approximates the
// weighted overlap of their words and word pieces, so a question finds the
// passage that shares its distinctive words ("City_17"), as a TF-IDF search
// without the IDF would. Its limits: it is purely lexical. It knows no
// synonyms or paraphrases ("inhabitants" and "people" share nothing), no
// word order beyond bigrams, and no language beyond a list of English
// function words; other common words weigh as much as rare ones (there is no
// IDF, since the function sees one text at a time). Measured with
// ChromemRetriever: on the article's cities, the gold passage is first for
// all 100 questions and for their paraphrase "How many people live in
// City_N?"; on testdata/companies.jsonl (180 questions, three near-identical
// passages per company, relations paraphrased: "established"/"founded",
// "headquarters"/"based in") it is in the top 5 for 177 and first for 99,
// since nothing lexical tells "Who founded X?" from "X was founded in 1918".
// Use a neural embedding (for example OpenAI's) when questions and passages
// do not share words.
//
// The function honours ctx (it returns ctx.Err() once ctx is done) and
// returns an error for a text with no visible characters. It is safe for
// concurrent use.
func NewLocalEmbeddingFunc(dims int) chromem.EmbeddingFunc {
	if dims <= 0 {
		dims = DefaultLocalEmbeddingDims
	}
	return func(ctx context.Context, text string) ([]float32, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return localEmbed(ctx, text, dims)
	}
}

// errEmptyText is returned when there is nothing to embed.
var errEmptyText = errors.New("ragvsft: cannot embed a text with no visible characters")

// feature is one hashed feature: its text, weight and how often it occurred.
type feature struct {
	text   string
	weight float64
	n      int
}

func localEmbed(ctx context.Context, text string, dims int) ([]float32, error) {
	words := embedWords(text)
	// A slice in order of first occurrence, so the float sums below add up
	// in the same order every time and the vector is bit-for-bit stable.
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
	if len(words) == 0 {
		// Punctuation only: the text itself is the one feature, so such a
		// text still finds itself.
		t := strings.TrimSpace(text)
		if t == "" {
			return nil, errEmptyText
		}
		add("x:"+t, unigramWeight)
	}
	for i, w := range words {
		// Long inputs: check for cancellation now and then, not per word.
		if i%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		stop := stopwords[w]
		if stop {
			add("w:"+w, stopwordWeight)
		} else {
			add("w:"+w, unigramWeight)
		}
		if i+1 < len(words) && !(stop && stopwords[words[i+1]]) {
			add("b:"+w+" "+words[i+1], bigramWeight)
		}
		if strings.Contains(w, "_") {
			for _, part := range strings.Split(w, "_") {
				if part != "" {
					add("w:"+part, partWeight)
				}
			}
		}
		if stop || isDigits(w) {
			// Pieces of a number ("967" of "1967825") or of a
			// function word say nothing about meaning and only add
			// hash collisions.
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
	return hashFeatures(feats, dims), nil
}

// stopwords are English function words. They weigh a quarter of other words
// and get no n-grams, so "Who is the founder of X?" finds X's passages
// rather than every passage that says "the founder of".
var stopwords = func() map[string]bool {
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
		// Every feature cancelled out (vanishingly rare): a fixed unit
		// vector keeps chromem's "normalized" contract.
		out[0] = 1
		return out
	}
	for i, v := range acc {
		out[i] = float32(v / norm)
	}
	return out
}
