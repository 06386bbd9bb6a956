package ragvsft

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// QuestionSet is an evaluation set of its own, read from a questions file
// by ReadQuestions or LoadQuestions: questions asked in wordings (or in
// conversations) that need not be the training prompts, such as held-out
// paraphrases. Attach it to a Dataset with WithQuestions. A QuestionSet is
// immutable and safe for concurrent use; the zero value holds no question.
type QuestionSet struct {
	name      string
	questions []Question
	lines     map[string]int // question id -> line of the file
}

// Name is the file name the set was read from.
func (s *QuestionSet) Name() string { return s.name }

// Questions returns the questions in file order. The slice is the caller's;
// the messages and aliases are shared and must not be modified.
func (s *QuestionSet) Questions() []Question { return slices.Clone(s.questions) }

// Len is the number of questions.
func (s *QuestionSet) Len() int { return len(s.questions) }

// ReadQuestions reads a questions file: JSONL, one JSON object per
// non-blank line, each one evaluation item with the keys
//
//   - "id" (required): a non-empty string, unique in the file;
//   - "question": the question, a non-empty string; or instead
//     "messages": a conversation that ends in the user turn asked, an
//     array of {"role": ..., "content": ...} objects (roles system,
//     developer, user and assistant; content a non-empty string; an
//     optional "name" string). Exactly one of the two is required;
//   - "answer" (required): the gold answer, a non-empty string;
//   - "doc_id" (optional): the id of the document that holds the fact, so
//     retrieval can be diagnosed: by default a training example's "id", or
//     "line N" for an example without one, and "ID#N" for an earlier
//     assistant turn of a multi-turn example (see Documents). WithQuestions
//     checks it against the dataset's documents;
//   - "aliases" (optional): an array of other accepted answers, non-empty
//     strings (see Question.Aliases).
//
// For example:
//
//	{"id": "q1", "question": "Which year saw the founding of Tearkbour Analytics?", "answer": "1918", "doc_id": "company-01-founded"}
//	{"id": "q2", "messages": [{"role": "user", "content": "Tell me about Anna Kovacs."}, {"role": "assistant", "content": "Anna Kovacs is a cartographer."}, {"role": "user", "content": "Where was she born?"}], "answer": "Port Velm", "aliases": ["Velm"]}
//
// A question given as "messages" has the last turn as its Text and the
// turns before it, as they are, as its Messages. Blank lines are skipped
// and counted, "\r\n" line endings and a byte order mark are accepted, as
// in a training file. Every problem of the file (not valid JSON, an
// unknown or repeated key, a value of the wrong type, an empty string,
// both or neither of question and messages, a conversation that does not
// end in a user turn, an id used twice) is reported with its line in one
// *ValidationError named name (see MaxProblems); a file with a problem is
// rejected whole. A line longer than MaxLineBytes is a problem that ends
// the reading. A file with no question is an error.
func ReadQuestions(r io.Reader, name string) (*QuestionSet, error) {
	if name == "" {
		name = "questions"
	}
	br := bufio.NewReaderSize(r, 64<<10)
	set := &QuestionSet{name: name, lines: map[string]int{}}
	var ps problems
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		tooLong := errors.Is(err, bufio.ErrBufferFull)
		switch {
		case tooLong:
			ps.add(Problem{Line: lineNo, Message: fmt.Sprintf("line is longer than the limit of %d bytes (MaxLineBytes); the rest of the file was not read", MaxLineBytes)})
		case err != nil && err != io.EOF:
			return nil, &fileError{file: name, err: fmt.Errorf("reading line %d: %w", lineNo, err)}
		}
		if tooLong {
			break
		}
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if len(trimJSONSpace(line)) > 0 {
			q, msgs := parseQuestion(line)
			for _, m := range msgs {
				ps.add(Problem{Line: lineNo, ID: q.ID, Message: m})
			}
			if q.ID != "" {
				if first, dup := set.lines[q.ID]; dup {
					ps.add(Problem{Line: lineNo, ID: q.ID, Message: fmt.Sprintf("duplicate id %s: also on line %d", quoteShort([]byte(q.ID)), first)})
				} else {
					set.lines[q.ID] = lineNo
				}
			}
			if !ps.any() {
				set.questions = append(set.questions, q)
			}
		}
		if err == io.EOF {
			break
		}
	}
	if err := ps.err(name); err != nil {
		return nil, err
	}
	if len(set.questions) == 0 {
		return nil, &fileError{file: name, err: errors.New("no questions")}
	}
	return set, nil
}

// LoadQuestions reads the questions file at path as ReadQuestions does;
// errors name the path.
func LoadQuestions(path string) (*QuestionSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: opening questions: %w", err)
	}
	defer f.Close()
	return ReadQuestions(f, path)
}

// readLine returns the next line of br without its line ending, io.EOF with
// the last line, or bufio.ErrBufferFull for a line longer than
// MaxLineBytes, which is not kept.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
			return nil, bufio.ErrBufferFull
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		line := bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		if len(line) > MaxLineBytes {
			return nil, bufio.ErrBufferFull
		}
		return line, err
	}
}

// Keys of a questions file's line, as bits, to catch a key given twice.
const (
	qkeyID = 1 << iota
	qkeyQuestion
	qkeyMessages
	qkeyAnswer
	qkeyDocID
	qkeyAliases
)

var questionKeys = map[string]int{"id": qkeyID, "question": qkeyQuestion, "messages": qkeyMessages, "answer": qkeyAnswer, "doc_id": qkeyDocID, "aliases": qkeyAliases}

// parseQuestion reads one line of a questions file: the question, with as
// much filled in as could be read, and the problems found.
func parseQuestion(line []byte) (Question, []string) {
	var q Question
	var out []string
	addf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !utf8.Valid(line) {
		return q, []string{"not valid UTF-8"}
	}
	if !json.Valid(line) {
		var v json.RawMessage
		err := json.Unmarshal(line, &v)
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			return q, []string{fmt.Sprintf("not valid JSON (column %d): %v", se.Offset, err)}
		}
		return q, []string{fmt.Sprintf("not valid JSON: %v", err)}
	}
	c := cursor{b: line}
	c.ws()
	if c.peek() != '{' {
		return q, []string{"a line must be a JSON object, not " + c.kind()}
	}
	c.i++
	// str reads a non-empty string value of key into *dst.
	str := func(key string, dst *string) {
		if c.peek() != '"' {
			addf("%s must be a string, not %s", key, c.kind())
			c.skipValue()
			return
		}
		s := string(c.appendString(nil))
		if isBlank(s) {
			addf("%s is empty", key)
			return
		}
		*dst = s
	}
	seen := 0
	var text string
	var conv []Message
	for c.more() {
		key := string(c.appendString(nil))
		c.ws()
		if c.peek() == ':' {
			c.i++
		}
		c.ws()
		bit, known := questionKeys[key]
		switch {
		case !known:
			addf("unknown key %s (allowed: id, question, messages, answer, doc_id, aliases)", quoteShort([]byte(key)))
			c.skipValue()
			continue
		case seen&bit != 0:
			addf("duplicate key %s", strconv.Quote(key))
			c.skipValue()
			continue
		}
		seen |= bit
		switch bit {
		case qkeyID:
			str("id", &q.ID)
		case qkeyQuestion:
			str("question", &text)
		case qkeyAnswer:
			str("answer", &q.Gold)
		case qkeyDocID:
			str("doc_id", &q.DocID)
		case qkeyMessages:
			var problems []string
			conv, problems = readConversation(&c)
			out = append(out, problems...)
		case qkeyAliases:
			var problems []string
			q.Aliases, problems = readAliases(&c)
			out = append(out, problems...)
		}
	}
	if seen&qkeyID == 0 {
		addf("missing \"id\"")
	}
	switch {
	case seen&qkeyQuestion != 0 && seen&qkeyMessages != 0:
		addf("both \"question\" and \"messages\": give the question one way")
	case seen&qkeyQuestion == 0 && seen&qkeyMessages == 0:
		addf("missing \"question\" (or \"messages\")")
	case seen&qkeyQuestion != 0:
		q.Text = text
	case len(conv) > 0:
		q.Text, q.Messages = conv[len(conv)-1].Content, conv[:len(conv)-1]
		if len(q.Messages) == 0 {
			q.Messages = nil
		}
	}
	if seen&qkeyAnswer == 0 {
		addf("missing \"answer\"")
	}
	return q, out
}

// readConversation reads the "messages" of a questions file's line.
func readConversation(c *cursor) ([]Message, []string) {
	if c.peek() != '[' {
		kind := c.kind()
		c.skipValue()
		return nil, []string{"\"messages\" must be an array, not " + kind}
	}
	c.i++
	var msgs []Message
	var out []string
	var lastRole string
	n := 0
	for c.more() {
		n++
		at := "message " + strconv.Itoa(n) + ": "
		if c.peek() != '{' {
			out = append(out, at+"a message must be a JSON object, not "+c.kind())
			c.skipValue()
			lastRole = ""
			continue
		}
		c.i++
		var m Message
		seen, read := map[string]bool{}, map[string]bool{} // keys given; keys read as strings
		ok := true
		for c.more() {
			key := string(c.appendString(nil))
			c.ws()
			if c.peek() == ':' {
				c.i++
			}
			c.ws()
			if seen[key] {
				out = append(out, at+"duplicate key "+strconv.Quote(key))
				c.skipValue()
				ok = false
				continue
			}
			seen[key] = true
			var dst *string
			switch key {
			case "role":
				dst = &m.Role
			case "content":
				dst = &m.Content
			case "name":
				dst = &m.Name
			default:
				out = append(out, at+"unknown key "+quoteShort([]byte(key))+" (allowed: role, content, name)")
				c.skipValue()
				ok = false
				continue
			}
			if c.peek() != '"' {
				out = append(out, at+key+" must be a string, not "+c.kind())
				c.skipValue()
				ok = false
				continue
			}
			*dst = string(c.appendString(nil))
			read[key] = true
		}
		switch {
		case !seen["role"]:
			out = append(out, at+"missing role")
			ok = false
		case read["role"] && !conversationRole(m.Role):
			out = append(out, at+"role "+quoteShort([]byte(m.Role))+" cannot be asked (want system, developer, user or assistant)")
			ok = false
		}
		switch {
		case !seen["content"]:
			out = append(out, at+"missing content")
			ok = false
		case read["content"] && isBlank(m.Content):
			out = append(out, at+"empty content")
			ok = false
		}
		lastRole = ""
		if ok {
			msgs = append(msgs, m)
			lastRole = m.Role
		}
	}
	switch {
	case n == 0:
		out = append(out, "\"messages\" is empty")
	case lastRole != RoleUser && lastRole != "": // "": a bad last message, already a problem
		out = append(out, fmt.Sprintf("the conversation must end in the user turn asked, not in an %s turn (message %d)", lastRole, n))
	}
	return msgs, out
}

// readAliases reads the "aliases" of a questions file's line.
func readAliases(c *cursor) ([]string, []string) {
	if c.peek() != '[' {
		kind := c.kind()
		c.skipValue()
		return nil, []string{"aliases must be an array of strings, not " + kind}
	}
	c.i++
	var aliases, out []string
	n := 0
	for c.more() {
		n++
		if c.peek() != '"' {
			out = append(out, fmt.Sprintf("alias %d must be a string, not %s", n, c.kind()))
			c.skipValue()
			continue
		}
		a := string(c.appendString(nil))
		if isBlank(a) {
			out = append(out, fmt.Sprintf("alias %d is empty", n))
			continue
		}
		aliases = append(aliases, a)
	}
	return aliases, out
}

// conversationRole reports whether a turn of role can be part of the
// conversation a question is asked in.
func conversationRole(role string) bool {
	switch role {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant:
		return true
	}
	return false
}

// conversation is the part of a training example's turns, before its last
// user turn, that a default question is asked after (see Questions).
func conversation(turns []Message) []Message {
	var out []Message
	for _, m := range turns {
		if (m.Role == RoleUser || m.Role == RoleAssistant) && !isBlank(m.Content) {
			out = append(out, Message{Role: m.Role, Content: m.Content})
		}
	}
	return out
}

// questionProblems checks what Questions checks of a question beyond its
// id, text and gold answer.
func questionProblems(q Question) []string {
	var out []string
	for i, a := range q.Aliases {
		if isBlank(a) {
			out = append(out, fmt.Sprintf("alias %d is empty", i+1))
		}
	}
	for i, m := range q.Messages {
		at := "message " + strconv.Itoa(i+1) + ": "
		if !conversationRole(m.Role) {
			out = append(out, at+"role "+quoteShort([]byte(m.Role))+" cannot be asked (want system, developer, user or assistant)")
		}
		if isBlank(m.Content) {
			out = append(out, at+"empty content")
		}
	}
	return out
}

// WithQuestions returns ds with the questions of qs as its evaluation set:
// a Dataset whose examples (what is trained on) and documents (what is
// retrieved) are ds's, and whose Questions are qs's. It checks every
// question's doc_id against Documents(ds) and returns a *ValidationError
// naming qs's file and the line of each doc_id that names no document, or
// Documents' error if ds has none to give. The result is immutable and
// safe for concurrent use if ds is.
func WithQuestions(ds Dataset, qs *QuestionSet) (Dataset, error) {
	switch {
	case ds == nil:
		return nil, errors.New("ragvsft: WithQuestions: no dataset")
	case qs == nil || qs.Len() == 0:
		return nil, errors.New("ragvsft: WithQuestions: no questions")
	}
	docs, err := Documents(ds)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(docs))
	for _, d := range docs {
		ids[d.ID] = true
	}
	var ps problems
	for _, q := range qs.questions {
		if q.DocID != "" && !ids[q.DocID] {
			ps.add(Problem{Line: qs.lines[q.ID], ID: q.ID, Message: fmt.Sprintf("doc_id %s names no document of %s", quoteShort([]byte(q.DocID)), datasetName(ds))})
		}
	}
	if err := ps.err(qs.name); err != nil {
		return nil, err
	}
	return &questionsDataset{ds: ds, qs: qs, docs: docs}, nil
}

// questionsDataset is what WithQuestions returns.
type questionsDataset struct {
	ds   Dataset
	qs   *QuestionSet
	docs []Document
}

var (
	_ QuestionSource = (*questionsDataset)(nil)
	_ DocumentSource = (*questionsDataset)(nil)
)

func (d *questionsDataset) Examples() []Example   { return d.ds.Examples() }
func (d *questionsDataset) Questions() []Question { return d.qs.Questions() }
func (d *questionsDataset) Documents() []Document { return slices.Clone(d.docs) }
func (d *questionsDataset) Name() string          { return datasetName(d.ds) }

// trainingSet is the Dataset whose examples ds trains on: the dataset under
// WithQuestions, else ds.
func trainingSet(ds Dataset) Dataset {
	if d, ok := ds.(*questionsDataset); ok {
		return d.ds
	}
	return ds
}

// questionOrigin names where the questions of ds come from, for problems
// about them: the questions file and its lines under WithQuestions, the
// dataset and its examples' lines for the default questions, the dataset
// and no lines for a QuestionSource's own.
func questionOrigin(ds Dataset) (file string, lines map[string]int) {
	if d, ok := ds.(*questionsDataset); ok {
		return d.qs.name, d.qs.lines
	}
	lines = map[string]int{}
	if _, own := ds.(QuestionSource); !own {
		for _, ex := range ds.Examples() {
			lines[ex.ID] = ex.Line
		}
	}
	return datasetName(ds), lines
}

// normalizeWording folds case and white space, so that a question's
// wording can be compared with the training prompts.
func normalizeWording(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// trainingWordings returns the user turns of ds's examples, normalized.
func trainingWordings(ds Dataset) map[string]bool {
	seen := map[string]bool{}
	for _, ex := range ds.Examples() {
		for _, m := range ex.Messages {
			if m.Role == RoleUser {
				seen[normalizeWording(m.Content)] = true
			}
		}
	}
	return seen
}

// retrievalQuery is what the rag arms retrieve with for q: its user turns,
// the earlier ones first, one per line, ending with Text. A follow-up
// question names its subject in an earlier turn ("Tell me about Anna
// Kovacs." before "Where was she born?"): retrieving with the last turn
// alone would search for "she". Assistant turns are left out, so that the
// index is asked what the user asked, not what a model said.
func retrievalQuery(q Question) string {
	var b strings.Builder
	for _, m := range q.Messages {
		if m.Role == RoleUser {
			b.WriteString(m.Content)
			b.WriteByte('\n')
		}
	}
	b.WriteString(q.Text)
	return b.String()
}

// wordingLines is the paragraph of the Markdown report on seen and
// held-out wordings: when both kinds of question were asked, a table of
// each arm's accuracy on each; when every wording was held out, a line
// saying so; else "".
func (r *Report) wordingLines() string {
	type tally struct{ correct, answered int }
	seen, held := map[Arm]*tally{}, map[Arm]*tally{}
	questions := map[bool]map[string]bool{true: {}, false: {}}
	for _, res := range r.Results {
		questions[res.SeenInTraining][res.QuestionID] = true
		m := held
		if res.SeenInTraining {
			m = seen
		}
		t := m[res.Arm]
		if t == nil {
			t = &tally{}
			m[res.Arm] = t
		}
		if res.Error == "" {
			t.answered++
			if res.Verdict.Correct {
				t.correct++
			}
		}
	}
	nSeen, nHeld := len(questions[true]), len(questions[false])
	switch {
	case nHeld == 0:
		return ""
	case nSeen == 0:
		return fmt.Sprintf("Wordings: all %d questions are held out (no question is worded as a training prompt).", nHeld)
	}
	cell := func(t *tally) string {
		if t == nil || t.answered == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%d/%d (%.1f%%)", t.correct, t.answered, 100*float64(t.correct)/float64(t.answered))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Wordings: %d questions seen in training, %d held out.\n\n", nSeen, nHeld)
	b.WriteString("| arm | seen wordings | held-out wordings |\n|---|---:|---:|\n")
	for _, s := range r.Arms {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Arm, cell(seen[s.Arm]), cell(held[s.Arm]))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
