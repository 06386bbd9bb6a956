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
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Example is one training example of a chat fine-tuning file: one JSONL line.
type Example struct {
	// ID is the line's optional "id" field, or "line N" when it has none.
	ID string
	// Line is the 1-based line number in the source file; 0 if the example
	// was not read from a file.
	Line     int
	Messages []Message
}

// Document is a passage a Retriever indexes.
type Document struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Question is one evaluation item: what every arm is asked, and the answer
// it is scored against. Questions from a training file are made by
// Questions; an evaluation set of its own is read by ReadQuestions.
type Question struct {
	ID string `json:"id"`
	// Text is the question as the user asks it: the last user turn.
	Text string `json:"text"`
	// Messages is the conversation before Text, oldest first, when the
	// question is asked in the middle of one ("Where was she born?" after
	// "Tell me about Anna Kovacs."); nil for a question on its own. Every
	// arm is asked with the Experiment's system prompt, then Messages as
	// they are, then Text in the arm's template (see Prompts).
	Messages []Message `json:"messages,omitempty"`
	// Gold is the reference answer.
	Gold string `json:"gold"`
	// Aliases are other accepted answers ("Houcourklend" for "Kexsox
	// Houcourklend"): the evaluators of this package judge an answer
	// correct when it matches Gold or any alias, and Verdict.Alias says
	// which alias it matched.
	Aliases []string `json:"aliases,omitempty"`
	// DocID names the Document that holds the answer, so retrieval can be
	// diagnosed; empty when unknown.
	DocID string `json:"doc_id,omitempty"`
}

// Dataset is a knowledge base written as chat fine-tuning examples.
//
// The examples are what a FineTuner trains on. By default the questions are
// each example's last user turn, asked after the conversation before it,
// with its final assistant turn as the gold answer, and the documents are
// the assistant turns, as in the article (see Questions and Documents). A
// Dataset that also implements DocumentSource or QuestionSource supplies its
// own; WithQuestions attaches an evaluation set read by ReadQuestions.
type Dataset interface {
	Examples() []Example
}

// DocumentSource is implemented by a Dataset that supplies the documents the
// retriever indexes instead of the assistant answers.
type DocumentSource interface {
	Documents() []Document
}

// QuestionSource is implemented by a Dataset whose evaluation questions are
// not the training questions (for example paraphrases).
type QuestionSource interface {
	Questions() []Question
}

// MaxLineBytes is the longest JSONL line ReadJSONL and ValidateJSONL accept,
// line ending excluded. A longer line is reported as a problem of its own
// line and skipped without being held in memory.
const MaxLineBytes = 16 << 20

// MaxProblems is how many problems a ValidationError keeps; the problems
// found beyond it are only counted (ValidationError.Omitted), so checking a
// file full of errors still runs in bounded memory.
const MaxProblems = 100

// ErrEmptyDataset is returned (wrapped) for a file or a set of examples
// that holds no example at all: an empty file, or one of blank lines only.
var ErrEmptyDataset = errors.New("ragvsft: dataset has no examples")

// Problem is one thing wrong with one line of a JSONL file or one in-memory
// example, question or document.
type Problem struct {
	// Line is the 1-based line of the file; 0 when the problem is not
	// tied to a line.
	Line int
	// ID names the example, question or document the problem is about,
	// when known; String shows it when Line is 0.
	ID string
	// Message says what is wrong.
	Message string
}

// String writes the problem as "line N: message" or `id "x": message`.
func (p Problem) String() string {
	switch {
	case p.Line > 0:
		return "line " + strconv.Itoa(p.Line) + ": " + p.Message
	case p.ID != "":
		return "id " + strconv.Quote(p.ID) + ": " + p.Message
	default:
		return p.Message
	}
}

// ValidationError reports every problem found in one file or data set, so
// all of them can be fixed in one go. Get it with errors.As.
type ValidationError struct {
	// File is the name of the file or data set that was checked.
	File string
	// Problems holds the first MaxProblems problems, in file order.
	Problems []Problem
	// Omitted counts the problems found beyond MaxProblems.
	Omitted int
}

// Error lists the problems, one per line after a summary:
//
//	ragvsft: cities.jsonl: 2 problems:
//	  line 2: not valid JSON (column 1): invalid character 'x' looking for beginning of value
//	  line 5: message 1: unknown role "robot"
func (e *ValidationError) Error() string {
	total := len(e.Problems) + e.Omitted
	if total == 1 && len(e.Problems) == 1 {
		return "ragvsft: " + e.File + ": " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ragvsft: %s: %d problems", e.File, total)
	if e.Omitted > 0 {
		fmt.Fprintf(&b, " (first %d shown)", len(e.Problems))
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.Omitted)
	}
	return b.String()
}

// problems collects a ValidationError's problems with the MaxProblems cap.
type problems struct {
	list    []Problem
	omitted int
}

func (ps *problems) add(p Problem) {
	if len(ps.list) < MaxProblems {
		ps.list = append(ps.list, p)
		return
	}
	ps.omitted++
}

func (ps *problems) any() bool { return len(ps.list)+ps.omitted > 0 }

func (ps *problems) err(file string) error {
	if !ps.any() {
		return nil
	}
	return &ValidationError{File: file, Problems: ps.list, Omitted: ps.omitted}
}

// fileError names the file an error is about.
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string {
	return "ragvsft: " + e.file + ": " + strings.TrimPrefix(e.err.Error(), "ragvsft: ")
}

func (e *fileError) Unwrap() error { return e.err }

// JSONLDataset is a Dataset read from an OpenAI chat fine-tuning JSONL
// file (ReadJSONL, LoadJSONL) or built from examples (NewDataset). It
// holds only valid examples. It is immutable and safe for concurrent use;
// the zero value is an empty dataset.
type JSONLDataset struct {
	name     string
	examples []Example
}

var _ Dataset = (*JSONLDataset)(nil)

// Name is the file name the dataset was read from or the name it was
// given.
func (d *JSONLDataset) Name() string { return d.name }

// Examples returns the examples in file order. The slice is the caller's;
// the messages are shared and must not be modified.
func (d *JSONLDataset) Examples() []Example { return slices.Clone(d.examples) }

// Len is the number of examples.
func (d *JSONLDataset) Len() int { return len(d.examples) }

// ValidateJSONL checks that r is an OpenAI chat fine-tuning JSONL file,
// without keeping its examples: it reads r once, line by line, in memory
// bounded by MaxLineBytes (plus the "id" values, when the file uses them).
// name is the file name used in errors.
//
// The rules are OpenAI's, checked before any upload so that a bad file is
// rejected whole and early:
//
//   - Each non-blank line is one JSON object (valid UTF-8) with a non-empty
//     "messages" array. Its other keys may be "tools", "functions" (arrays),
//     "parallel_tool_calls" (a boolean) and "id", a ragvsft extension: a
//     non-empty string naming the example, unique in the file, and not of
//     the form "line N" for another line's N (that is the default ID of
//     line N). Any other key is a problem.
//   - Each message is an object with a known role (system, developer, user,
//     assistant, tool, function) and only the keys OpenAI allows for that
//     role: role, content and name everywhere but in tool messages; weight,
//     function_call, tool_calls and refusal in assistant messages;
//     tool_call_id (required) in tool messages. A function message needs a
//     name. A key appearing twice in one object is a problem.
//   - content is a string or an array of content parts ({"type": "text",
//     "text": ...}; user messages may also hold image_url, input_audio and
//     file parts, assistant messages refusal parts). It must hold text
//     other than white space in system, developer, user and tool messages
//     (a user message may instead hold only non-text parts), and in
//     assistant messages unless they carry tool_calls, function_call or a
//     refusal, where content may be null or absent. function messages
//     may have null content.
//   - weight, allowed on assistant messages only, is the integer 0 or 1.
//   - Each example has at least one assistant message, and at least one
//     whose weight is not 0.
//
// Blank lines (empty or white space only) are skipped: they are harmless and
// common at the end of hand-edited files; line numbers still count them so
// they match an editor's. Line endings may be "\n" or "\r\n", the last line
// needs none, and a UTF-8 byte order mark before the first line is ignored.
// A file with no example at all is an error wrapping ErrEmptyDataset.
//
// Every problem found is reported, with its line, in one *ValidationError
// (see MaxProblems); a read error from r is returned wrapped, naming the
// line it occurred on.
func ValidateJSONL(r io.Reader, name string) error {
	_, err := scanJSONL(r, name, false)
	return err
}

// ReadJSONL reads and validates an OpenAI chat fine-tuning JSONL file, with
// the rules and errors of ValidateJSONL. A file with any problem is
// rejected whole: the dataset is nil and the error a *ValidationError.
//
// Each example's ID is its "id" field, or "line N" when it has none, and
// its Line the line it was read from. Each message keeps its role, its
// content as text (an array of content parts is flattened to its text
// parts joined by "\n"), its name and its weight; tool calls, function
// calls, refusals, non-text parts and the "tools" and "functions" of an
// example are validated but not kept.
func ReadJSONL(r io.Reader, name string) (*JSONLDataset, error) {
	examples, err := scanJSONL(r, name, true)
	if err != nil {
		return nil, err
	}
	return &JSONLDataset{name: name, examples: examples}, nil
}

// LoadJSONL reads the JSONL file at path as ReadJSONL does; errors name the
// path.
func LoadJSONL(path string) (*JSONLDataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: opening dataset: %w", err)
	}
	defer f.Close()
	return ReadJSONL(f, path)
}

// NewDataset validates in-memory examples with the rules of ValidateJSONL
// that a Message can express, and returns them as a dataset named name.
// An example with an empty ID is given "line N" when its Line is set, else
// "example N" (N its 1-based position). Problems are named by example ID.
// Since a Message carries no tool_call_id, tool messages are rejected.
func NewDataset(name string, examples []Example) (*JSONLDataset, error) {
	out, err := checkExamples(name, examples)
	if err != nil {
		return nil, err
	}
	return &JSONLDataset{name: name, examples: out}, nil
}

func checkExamples(name string, examples []Example) ([]Example, error) {
	if len(examples) == 0 {
		return nil, &fileError{file: name, err: ErrEmptyDataset}
	}
	out := make([]Example, len(examples))
	var ps problems
	seen := make(map[string]int, len(examples))
	for i, ex := range examples {
		if ex.ID == "" {
			if ex.Line > 0 {
				ex.ID = "line " + strconv.Itoa(ex.Line)
			} else {
				ex.ID = "example " + strconv.Itoa(i+1)
			}
		}
		out[i] = ex
		if j, dup := seen[ex.ID]; dup {
			ps.add(Problem{ID: ex.ID, Message: fmt.Sprintf("duplicate id: examples %d and %d", j+1, i+1)})
		} else {
			seen[ex.ID] = i
		}
		for _, msg := range exampleProblems(ex) {
			ps.add(Problem{ID: ex.ID, Message: msg})
		}
	}
	if err := ps.err(name); err != nil {
		return nil, err
	}
	return out, nil
}

// exampleProblems checks one in-memory example.
func exampleProblems(ex Example) []string {
	var out []string
	if len(ex.Messages) == 0 {
		return []string{"no messages"}
	}
	assistants, trained := 0, 0
	for i, m := range ex.Messages {
		at := "message " + strconv.Itoa(i+1) + ": "
		switch m.Role {
		case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleFunction:
		case RoleTool:
			out = append(out, at+"tool messages need a tool_call_id, which a Message cannot carry")
			continue
		default:
			out = append(out, at+"unknown role "+quoteShort([]byte(m.Role)))
			continue
		}
		if m.Role == RoleFunction && m.Name == "" {
			out = append(out, at+"function message without a name")
		}
		if m.Role != RoleFunction && isBlank(m.Content) {
			out = append(out, at+"empty content")
		}
		if m.Weight != nil {
			switch {
			case m.Role != RoleAssistant:
				out = append(out, at+"weight is only allowed on assistant messages")
			case *m.Weight != 0 && *m.Weight != 1:
				out = append(out, at+"weight must be 0 or 1, got "+strconv.Itoa(*m.Weight))
			}
		}
		if m.Role == RoleAssistant {
			assistants++
			if m.Weight == nil || *m.Weight != 0 {
				trained++
			}
		}
	}
	switch {
	case assistants == 0:
		out = append(out, "no assistant message")
	case trained == 0:
		out = append(out, "every assistant message has weight 0: nothing to train on")
	}
	return out
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// WriteJSONL writes examples in OpenAI's chat fine-tuning format, one
// {"messages": [...]} object per line, each line ending in "\n", ready for
// upload. Messages keep their role, content, name and weight. Example IDs
// are not written: "id" is a ragvsft extension OpenAI does not define, so
// the file is plain OpenAI format (ReadJSONL gives the examples back with
// "line N" IDs). The examples are validated as by NewDataset first;
// nothing is written when one is invalid. Examples read from a file that
// uses tool calls cannot be written back, since a Message does not carry
// them.
func WriteJSONL(w io.Writer, examples []Example) error {
	if _, err := checkExamples("examples", examples); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, ex := range examples {
		if err := enc.Encode(struct {
			Messages []Message `json:"messages"`
		}{ex.Messages}); err != nil {
			return fmt.Errorf("ragvsft: writing example %q: %w", ex.ID, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ragvsft: writing examples: %w", err)
	}
	return nil
}

// questionTurns are the indexes of an example's question and gold answer:
// its final assistant turn and the last user turn before it; -1 for either
// when there is none.
func questionTurns(msgs []Message) (user, final int) {
	user, final = -1, -1
	for i, m := range msgs {
		if m.Role == RoleAssistant {
			final = i
		}
	}
	for i := final - 1; i >= 0; i-- {
		if msgs[i].Role == RoleUser {
			return i, final
		}
	}
	return -1, final
}

// Questions returns the evaluation questions of ds: ds.Questions() when ds
// is a QuestionSource, else one per example: the last user message before
// the example's final assistant message is the Text, with that assistant
// message as the gold answer and the example's ID as both the question's
// ID and its DocID. The turns before that user message are the question's
// Messages, so a multi-turn example is asked as the conversation it is:
// its user turns and its assistant turns that have content, each as role
// and content. Its system and developer turns are left out, as for a
// single-turn example, because the Experiment's system prompt stands in
// for them; tool and function turns cannot be sent to a chat model and are
// left out too.
//
// It is an error (a *ValidationError) when there are no questions, when
// two share an ID, when a text, gold answer or alias is empty, when a
// message of Messages has a role other than system, developer, user or
// assistant or no content, or when a DocID names no document of
// Documents(ds).
func Questions(ds Dataset) ([]Question, error) {
	name := datasetName(ds)
	var qs []Question
	var ps problems
	if src, ok := ds.(QuestionSource); ok {
		qs = src.Questions()
	} else {
		for _, ex := range ds.Examples() {
			user, final := questionTurns(ex.Messages)
			if final < 0 || user < 0 {
				ps.add(Problem{Line: ex.Line, ID: ex.ID, Message: "no user message before a final assistant message: cannot make a question"})
				continue
			}
			qs = append(qs, Question{ID: ex.ID, Text: ex.Messages[user].Content, Messages: conversation(ex.Messages[:user]),
				Gold: ex.Messages[final].Content, DocID: ex.ID})
		}
	}
	if len(qs) == 0 && !ps.any() {
		return nil, &fileError{file: name, err: errors.New("no questions")}
	}
	seen := make(map[string]int, len(qs))
	needDocs := false
	for i, q := range qs {
		switch j, dup := seen[q.ID]; {
		case q.ID == "":
			ps.add(Problem{Message: fmt.Sprintf("question %d: empty id", i+1)})
		case dup:
			ps.add(Problem{ID: q.ID, Message: fmt.Sprintf("duplicate question id: questions %d and %d", j+1, i+1)})
		default:
			seen[q.ID] = i
		}
		if isBlank(q.Text) {
			ps.add(Problem{ID: q.ID, Message: "question text is empty"})
		}
		if isBlank(q.Gold) {
			ps.add(Problem{ID: q.ID, Message: "gold answer is empty"})
		}
		for _, msg := range questionProblems(q) {
			ps.add(Problem{ID: q.ID, Message: msg})
		}
		needDocs = needDocs || q.DocID != ""
	}
	if needDocs && !ps.any() {
		docs, err := Documents(ds)
		if err != nil {
			return nil, err
		}
		ids := make(map[string]bool, len(docs))
		for _, d := range docs {
			ids[d.ID] = true
		}
		for _, q := range qs {
			if q.DocID != "" && !ids[q.DocID] {
				ps.add(Problem{ID: q.ID, Message: "doc_id " + strconv.Quote(q.DocID) + " names no document"})
			}
		}
	}
	if err := ps.err(name); err != nil {
		return nil, err
	}
	return qs, nil
}

// Documents returns what the retriever indexes for ds: ds.Documents() when
// ds is a DocumentSource, else every assistant message of every example
// that has content. The final assistant message of an example has the
// example's ID, as in the article, so that it is the document its default
// question names; an earlier one is "ID#N", N the message's 1-based
// position in the example, as validation errors count messages ("multi#3"
// is the third message of example "multi"). It is an error (a
// *ValidationError) when there are no documents, when two share an ID or
// when a text is empty (a final assistant message without content, say).
func Documents(ds Dataset) ([]Document, error) {
	name := datasetName(ds)
	var docs []Document
	var ps problems
	if src, ok := ds.(DocumentSource); ok {
		docs = src.Documents()
	} else {
		for _, ex := range ds.Examples() {
			final := -1
			for i, m := range ex.Messages {
				if m.Role == RoleAssistant {
					final = i
				}
			}
			if final < 0 {
				ps.add(Problem{Line: ex.Line, ID: ex.ID, Message: "no assistant message: cannot make a document"})
				continue
			}
			for i, m := range ex.Messages[:final] {
				if m.Role == RoleAssistant && !isBlank(m.Content) {
					docs = append(docs, Document{ID: ex.ID + "#" + strconv.Itoa(i+1), Text: m.Content})
				}
			}
			docs = append(docs, Document{ID: ex.ID, Text: ex.Messages[final].Content})
		}
	}
	if len(docs) == 0 && !ps.any() {
		return nil, &fileError{file: name, err: errors.New("no documents")}
	}
	seen := make(map[string]int, len(docs))
	for i, d := range docs {
		switch j, dup := seen[d.ID]; {
		case d.ID == "":
			ps.add(Problem{Message: fmt.Sprintf("document %d: empty id", i+1)})
		case dup:
			ps.add(Problem{ID: d.ID, Message: fmt.Sprintf("duplicate document id: documents %d and %d", j+1, i+1)})
		default:
			seen[d.ID] = i
		}
		if isBlank(d.Text) {
			ps.add(Problem{ID: d.ID, Message: "document text is empty"})
		}
	}
	if err := ps.err(name); err != nil {
		return nil, err
	}
	return docs, nil
}

func datasetName(ds Dataset) string {
	if n, ok := ds.(interface{ Name() string }); ok && n.Name() != "" {
		return n.Name()
	}
	return "dataset"
}

// scanJSONL validates r line by line and, if keep, returns its examples.
func scanJSONL(r io.Reader, name string, keep bool) ([]Example, error) {
	if name == "" {
		name = "input"
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		ps       problems
		p        = lineParser{keep: keep}
		ids      map[string]int
		examples []Example
		buf      []byte
		lineNo   int
		count    int
	)
	for {
		// Gather one line in buf, or past MaxLineBytes only count it.
		buf = buf[:0]
		tooLong, eof := false, false
		var chunk []byte
		var err error
		for {
			chunk, err = br.ReadSlice('\n')
			if !tooLong {
				if len(buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
					tooLong = true
					buf = buf[:0]
				} else {
					buf = append(buf, chunk...)
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		switch {
		case err == io.EOF:
			eof = true
		case err != nil:
			return nil, &fileError{file: name, err: fmt.Errorf("reading line %d: %w", lineNo+1, err)}
		}
		if eof && len(buf) == 0 && !tooLong {
			break
		}
		lineNo++
		line := bytes.TrimSuffix(buf, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		switch {
		case tooLong || len(line) > MaxLineBytes:
			ps.add(Problem{Line: lineNo, Message: fmt.Sprintf("line is longer than the limit of %d bytes (MaxLineBytes)", MaxLineBytes)})
			keep, p.keep, examples = false, false, nil
		case len(trimJSONSpace(line)) > 0:
			count++
			p.parse(line, lineNo)
			for _, msg := range p.problems {
				ps.add(Problem{Line: lineNo, Message: msg})
			}
			ps.omitted += p.omitted
			if p.hasID {
				if ids == nil {
					ids = make(map[string]int)
				}
				if first, dup := ids[p.id]; dup {
					ps.add(Problem{Line: lineNo, Message: fmt.Sprintf("duplicate id %s: also on line %d", quoteShort([]byte(p.id)), first)})
				} else {
					ids[p.id] = lineNo
				}
			}
			if ps.any() {
				// The file is rejected whole: stop keeping examples.
				keep, p.keep, examples = false, false, nil
			}
			if keep {
				id := p.id
				if !p.hasID {
					id = "line " + strconv.Itoa(lineNo)
				}
				examples = append(examples, Example{ID: id, Line: lineNo, Messages: p.messages})
			}
		}
		if eof {
			break
		}
	}
	if err := ps.err(name); err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, &fileError{file: name, err: ErrEmptyDataset}
	}
	return examples, nil
}

func trimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// quoteShort quotes b for an error message, cutting it after 40 bytes.
func quoteShort(b []byte) string {
	const limit = 40
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "..."
	}
	return strconv.Quote(string(b))
}

// Roles and keys as bit sets, to check one message in one pass.
const (
	keyRole = 1 << iota
	keyContent
	keyName
	keyWeight
	keyFunctionCall
	keyToolCalls
	keyToolCallID
	keyRefusal
)

// messageKey returns the bit of a message key, or 0 for an unknown key.
func messageKey(key []byte) int {
	switch string(key) {
	case "role":
		return keyRole
	case "content":
		return keyContent
	case "name":
		return keyName
	case "weight":
		return keyWeight
	case "function_call":
		return keyFunctionCall
	case "tool_calls":
		return keyToolCalls
	case "tool_call_id":
		return keyToolCallID
	case "refusal":
		return keyRefusal
	}
	return 0
}

var messageKeyOrder = []string{"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id", "refusal"}

// allowedKeys returns the keys OpenAI allows in a message of role.
func allowedKeys(role string) int {
	switch role {
	case RoleAssistant:
		return keyRole | keyContent | keyName | keyWeight | keyFunctionCall | keyToolCalls | keyRefusal
	case RoleTool:
		return keyRole | keyContent | keyToolCallID
	default:
		return keyRole | keyContent | keyName
	}
}

// roleConst returns the package's constant for a known role, so reading a
// role allocates nothing.
func roleConst(b []byte) (string, bool) {
	for _, r := range [...]string{RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool, RoleFunction} {
		if string(b) == r {
			return r, true
		}
	}
	return "", false
}

// Content part types, as a bit set.
const (
	partText = 1 << iota
	partImage
	partAudio
	partFile
	partRefusal
)

var partTypes = map[string]int{"text": partText, "image_url": partImage, "input_audio": partAudio, "file": partFile, "refusal": partRefusal}

var partPayload = map[int]string{partText: "text", partImage: "image_url", partAudio: "input_audio", partFile: "file", partRefusal: "refusal"}

func allowedParts(role string) int {
	switch role {
	case RoleUser:
		return partText | partImage | partAudio | partFile
	case RoleAssistant:
		return partText | partRefusal
	default:
		return partText
	}
}

// lineParser checks one JSONL line. It reuses its buffers from line to
// line, so checking a valid line allocates nothing unless keep is set.
type lineParser struct {
	keep bool

	// Results of the last parse.
	problems []string
	omitted  int // problems beyond MaxProblems
	hasID    bool
	id       string
	messages []Message

	key, str, text, role, name []byte
}

func (p *lineParser) addf(format string, args ...any) {
	// A single line may hold millions of bad messages: keep it bounded.
	if len(p.problems) >= MaxProblems {
		p.omitted++
		return
	}
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *lineParser) parse(line []byte, lineNo int) {
	p.problems, p.omitted, p.hasID, p.id, p.messages = p.problems[:0], 0, false, "", nil
	if !utf8.Valid(line) {
		p.addf("not valid UTF-8")
		return
	}
	if !json.Valid(line) {
		var v json.RawMessage
		err := json.Unmarshal(line, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			p.addf("not valid JSON (column %d): %v", se.Offset, err)
		} else {
			p.addf("not valid JSON: %v", err)
		}
		return
	}
	c := cursor{b: line}
	c.ws()
	if c.peek() != '{' {
		p.addf("a line must be a JSON object, not %s", c.kind())
		return
	}
	c.i++
	sawMessages, sawID := false, false
	for c.more() {
		key := p.readKey(&c)
		switch string(key) {
		case "messages":
			if sawMessages {
				p.addf("duplicate key \"messages\"")
				c.skipValue()
				continue
			}
			sawMessages = true
			p.readMessages(&c)
		case "id":
			if sawID {
				p.addf("duplicate key \"id\"")
				c.skipValue()
				continue
			}
			sawID = true
			if c.peek() != '"' {
				p.addf("id must be a string, not %s", c.kind())
				c.skipValue()
				continue
			}
			p.str = c.appendString(p.str[:0])
			switch n, reserved := defaultIDLine(p.str); {
			case bytesBlank(p.str):
				p.addf("id is empty")
			case reserved && n != lineNo:
				p.addf("id %s is reserved: it is the default id of line %d", quoteShort(p.str), n)
			default:
				p.hasID, p.id = true, string(p.str)
			}
		case "tools", "functions":
			if c.peek() != '[' {
				p.addf("%s must be an array, not %s", strconv.Quote(string(key)), c.kind())
			}
			c.skipValue()
		case "parallel_tool_calls":
			if k := c.kind(); k != "a boolean" {
				p.addf("parallel_tool_calls must be a boolean, not %s", k)
			}
			c.skipValue()
		default:
			p.addf("unknown key %s (allowed: messages, tools, functions, parallel_tool_calls, id)", quoteShort(key))
			c.skipValue()
		}
	}
	if !sawMessages {
		p.addf("missing \"messages\"")
	}
}

// defaultIDLine reports whether id has the form "line N" and N.
func defaultIDLine(id []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(id, []byte("line "))
	if !ok || len(rest) == 0 || len(rest) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// readKey reads an object key and its colon, leaving c at the value.
func (p *lineParser) readKey(c *cursor) []byte {
	p.key = c.appendString(p.key[:0])
	c.ws()
	if c.peek() == ':' {
		c.i++
	}
	c.ws()
	return p.key
}

func (p *lineParser) readMessages(c *cursor) {
	if c.peek() != '[' {
		p.addf("\"messages\" must be an array, not %s", c.kind())
		c.skipValue()
		return
	}
	c.i++
	n, assistants, trained := 0, 0, 0
	for c.more() {
		n++
		role, weight := p.readMessage(c, n)
		if role == RoleAssistant {
			assistants++
			if weight != 0 {
				trained++
			}
		}
	}
	switch {
	case n == 0:
		p.addf("\"messages\" is empty")
	case assistants == 0:
		p.addf("no assistant message")
	case trained == 0:
		p.addf("every assistant message has weight 0: nothing to train on")
	}
}

// readMessage checks message n and returns its role ("" if unknown) and
// weight (-1 when absent or invalid).
func (p *lineParser) readMessage(c *cursor, n int) (string, int) {
	at := func() string { return "message " + strconv.Itoa(n) + ": " }
	if c.peek() != '{' {
		p.addf("%sa message must be a JSON object, not %s", at(), c.kind())
		c.skipValue()
		return "", -1
	}
	c.i++
	var (
		seen                     int
		roleKind, contentKind    string
		hasRole, textual         bool
		nonText, parts           int
		hasCalls, hasRefusal     bool
		weight                   = -1
		nameKind, toolCallIDKind string
	)
	p.text, p.name, p.role = p.text[:0], p.name[:0], p.role[:0]
	for c.more() {
		key := p.readKey(c)
		bit := messageKey(key)
		if bit == 0 {
			p.addf("%sunknown key %s", at(), quoteShort(key))
			c.skipValue()
			continue
		}
		if seen&bit != 0 {
			p.addf("%sduplicate key %s", at(), strconv.Quote(string(key)))
			c.skipValue()
			continue
		}
		seen |= bit
		kind := c.kind()
		switch bit {
		case keyRole:
			roleKind = kind
			if kind == "a string" {
				hasRole = true
				p.role = c.appendString(p.role[:0])
				continue
			}
		case keyContent:
			contentKind = kind
			switch kind {
			case "a string":
				p.text = c.appendString(p.text[:0])
				textual = true
				continue
			case "an array":
				textual = true
				parts, nonText = p.readParts(c, at)
				continue
			}
		case keyName:
			nameKind = kind
			if kind == "a string" {
				p.name = c.appendString(p.name[:0])
				continue
			}
		case keyToolCallID:
			toolCallIDKind = kind
		case keyWeight:
			if kind != "a number" {
				p.addf("%sweight must be 0 or 1, not %s", at(), kind)
				break
			}
			tok := c.scalar()
			switch string(tok) {
			case "0":
				weight = 0
			case "1":
				weight = 1
			default:
				p.addf("%sweight must be 0 or 1, got %s", at(), quoteShort(tok))
			}
			continue
		case keyToolCalls:
			switch kind {
			case "an array":
				hasCalls = hasCalls || !c.emptyArray()
			case "null":
			default:
				p.addf("%stool_calls must be an array, not %s", at(), kind)
			}
		case keyFunctionCall:
			switch kind {
			case "an object":
				hasCalls = true
			case "null":
			default:
				p.addf("%sfunction_call must be an object, not %s", at(), kind)
			}
		case keyRefusal:
			switch kind {
			case "a string":
				p.str = c.appendString(p.str[:0])
				hasRefusal = !isBlank(string(p.str))
				continue
			case "null":
			default:
				p.addf("%srefusal must be a string, not %s", at(), kind)
			}
		}
		c.skipValue()
	}

	// Judge the message now that its role is known, whatever the key order.
	if !hasRole {
		if roleKind == "" {
			p.addf("%smissing role", at())
		} else {
			p.addf("%srole must be a string, not %s", at(), roleKind)
		}
		return "", -1
	}
	role, ok := roleConst(p.role)
	if !ok {
		p.addf("%sunknown role %s (want system, developer, user, assistant, tool or function)", at(), quoteShort(p.role))
		return "", -1
	}
	for _, key := range messageKeyOrder {
		if bit := messageKey([]byte(key)); seen&bit != 0 && allowedKeys(role)&bit == 0 {
			p.addf("%skey %s is not allowed in a %s message", at(), strconv.Quote(key), role)
		}
	}
	if parts&^allowedParts(role) != 0 {
		p.addf("%scontent parts of a %s message may only be of type %s", at(), role, partNames(allowedParts(role)))
	}
	if nameKind != "" && nameKind != "a string" {
		p.addf("%sname must be a string, not %s", at(), nameKind)
	}
	if role == RoleFunction && (nameKind != "a string" || isBlank(string(p.name))) {
		p.addf("%sa function message needs a name", at())
	}
	if role == RoleTool && toolCallIDKind != "a string" {
		if toolCallIDKind == "" {
			p.addf("%sa tool message needs a tool_call_id", at())
		} else {
			p.addf("%stool_call_id must be a string, not %s", at(), toolCallIDKind)
		}
	}
	if contentKind != "" && contentKind != "null" && !textual {
		p.addf("%scontent must be a string or an array of content parts, not %s", at(), contentKind)
	} else {
		hasText := !bytesBlank(p.text)
		switch role {
		case RoleAssistant:
			if !hasText && !hasCalls && !hasRefusal && !(parts&partRefusal != 0) {
				p.addf("%sempty content (an assistant message needs content, tool_calls, function_call or a refusal)", at())
			}
		case RoleFunction:
			if contentKind == "" {
				p.addf("%smissing content (it may be null)", at())
			}
		case RoleUser:
			if !hasText && nonText == 0 {
				p.addf("%sempty content", at())
			}
		default:
			if !hasText {
				p.addf("%sempty content", at())
			}
		}
	}
	if p.keep {
		m := Message{Role: role, Content: string(p.text), Name: string(p.name)}
		if weight >= 0 {
			w := weight
			m.Weight = &w
		}
		p.messages = append(p.messages, m)
	}
	if weight < 0 {
		weight = 1
	}
	return role, weight
}

// readParts reads an array of content parts, appending their text to
// p.text, and returns the set of part types seen and how many parts hold
// no text.
func (p *lineParser) readParts(c *cursor, at func() string) (types, nonText int) {
	c.i++ // '['
	n := 0
	for c.more() {
		n++
		pat := func() string { return at() + "content part " + strconv.Itoa(n) + ": " }
		if c.peek() != '{' {
			p.addf("%sa content part must be an object, not %s", pat(), c.kind())
			c.skipValue()
			continue
		}
		c.i++
		typ, payloadKind := 0, map[string]string(nil)
		sawType := false
		textStart := len(p.text)
		var textSet, sawText bool
		for c.more() {
			key := p.readKey(c)
			switch string(key) {
			case "type":
				if sawType {
					p.addf("%sduplicate key \"type\"", pat())
					c.skipValue()
					continue
				}
				sawType = true
				if c.peek() != '"' {
					p.addf("%stype must be a string, not %s", pat(), c.kind())
					c.skipValue()
					continue
				}
				p.str = c.appendString(p.str[:0])
				t, ok := partTypes[string(p.str)]
				if !ok {
					p.addf("%sunknown type %s", pat(), quoteShort(p.str))
					typ = -1
				} else {
					typ = t
				}
			case "text":
				if sawText {
					p.addf("%sduplicate key \"text\"", pat())
					c.skipValue()
					continue
				}
				sawText = true
				if c.peek() == '"' {
					textSet = true
					if textStart > 0 {
						p.text = append(p.text, '\n')
					}
					p.text = c.appendString(p.text)
					continue
				}
				fallthrough
			default:
				if payloadKind == nil {
					payloadKind = make(map[string]string, 1)
				}
				payloadKind[string(key)] = c.kind()
				c.skipValue()
			}
		}
		if !sawType {
			p.addf("%smissing type", pat())
			continue
		}
		if typ <= 0 {
			continue
		}
		types |= typ
		if typ != partText {
			p.text = p.text[:textStart]
			nonText++
			if _, ok := payloadKind[partPayload[typ]]; !ok {
				p.addf("%smissing %s", pat(), strconv.Quote(partPayload[typ]))
			}
			continue
		}
		if !textSet {
			p.text = p.text[:textStart]
			if k, ok := payloadKind["text"]; ok {
				p.addf("%stext must be a string, not %s", pat(), k)
			} else {
				p.addf("%smissing \"text\"", pat())
			}
		}
	}
	if n == 0 {
		p.addf("%scontent is an empty array", at())
	}
	return types, nonText
}

func partNames(set int) string {
	var names []string
	for _, t := range []string{"text", "image_url", "input_audio", "file", "refusal"} {
		if set&partTypes[t] != 0 {
			names = append(names, strconv.Quote(t))
		}
	}
	return strings.Join(names, " or ")
}

func bytesBlank(b []byte) bool {
	return len(bytes.TrimFunc(b, unicode.IsSpace)) == 0
}

// cursor walks a line that json.Valid accepted. Every method stays in
// bounds even on input it was not meant for.
type cursor struct {
	b []byte
	i int
}

func (c *cursor) peek() byte {
	if c.i < len(c.b) {
		return c.b[c.i]
	}
	return 0
}

func (c *cursor) ws() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\r', '\n':
			c.i++
		default:
			return
		}
	}
}

// kind names the type of the value at c, for messages and dispatch.
func (c *cursor) kind() string {
	switch c.peek() {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	default:
		return "a number"
	}
}

// more steps into the next member or element of the object or array whose
// opening bracket was consumed, and reports false after the closing one.
func (c *cursor) more() bool {
	c.ws()
	switch c.peek() {
	case '}', ']':
		c.i++
		return false
	case ',':
		c.i++
		c.ws()
		return c.i < len(c.b)
	case 0:
		return false
	}
	return true
}

// emptyArray reports whether the array at c has no elements, without
// moving c.
func (c *cursor) emptyArray() bool {
	d := cursor{b: c.b, i: c.i + 1}
	d.ws()
	return d.peek() == ']'
}

// scalar consumes the number, boolean or null at c and returns it; for
// other values it skips them and returns their first byte.
func (c *cursor) scalar() []byte {
	start := c.i
	switch c.peek() {
	case '{', '[', '"':
		c.skipValue()
		return c.b[start : start+1]
	}
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return c.b[start:c.i]
		}
		c.i++
	}
	return c.b[start:]
}

// skipString moves past the string starting at c and returns its raw
// (still escaped) body.
func (c *cursor) skipString() []byte {
	c.i++ // opening quote
	start := c.i
	for c.i < len(c.b) {
		j := bytes.IndexAny(c.b[c.i:], `"\\`)
		if j < 0 {
			break
		}
		c.i += j
		if c.b[c.i] == '\\' {
			c.i += 2
			continue
		}
		body := c.b[start:c.i]
		c.i++
		return body
	}
	c.i = len(c.b)
	return c.b[start:]
}

func (c *cursor) skipValue() {
	switch c.peek() {
	case '"':
		c.skipString()
	case '{', '[':
		depth := 0
		for c.i < len(c.b) {
			switch c.b[c.i] {
			case '"':
				c.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					c.i++
					return
				}
			}
			c.i++
		}
	default:
		c.scalar()
	}
}

// appendString consumes the string at c and appends its unescaped value to
// dst, as encoding/json decodes it (a lone surrogate becomes U+FFFD).
func (c *cursor) appendString(dst []byte) []byte {
	if c.peek() != '"' {
		c.skipValue()
		return dst
	}
	raw := c.skipString()
	for i := 0; i < len(raw); {
		if j := bytes.IndexByte(raw[i:], '\\'); j != 0 {
			if j < 0 {
				j = len(raw) - i
			}
			dst = append(dst, raw[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(raw) {
			dst = append(dst, raw[i])
			break
		}
		switch e := raw[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				dst = append(dst, raw[i:i+2]...)
				break
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+2+6 <= len(raw) && raw[i+2] == '\\' && raw[i+3] == 'u' {
					r2, ok = hex4(raw[i+4:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != unicode.ReplacementChar {
					r = dec
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
