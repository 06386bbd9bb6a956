package ragvsft

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
// it is scored against.
type Question struct {
	ID string `json:"id"`
	// Text is the question as the user asks it.
	Text string `json:"text"`
	// Gold is the reference answer.
	Gold string `json:"gold"`
	// DocID names the Document that holds the answer, so retrieval can be
	// diagnosed; empty when unknown.
	DocID string `json:"doc_id,omitempty"`
}

// Dataset is a knowledge base written as chat fine-tuning examples.
//
// The examples are what a FineTuner trains on. By default the questions are
// each example's last user turn with its final assistant turn as the gold
// answer, and the documents are the assistant answers, as in the article. A
// Dataset that also implements DocumentSource or QuestionSource supplies its
// own.
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
