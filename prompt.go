package ragvsft

import (
	"strconv"
	"strings"
)

// Prompts are the templates an Experiment fills in. Placeholders are
// written {question}, {context}, {rank} and {document}. A zero field means
// the article's template (ArticlePrompts).
//
// Every request is the System message, then the conversation the question
// is asked in (Question.Messages, as they are: "Tell me about Anna
// Kovacs." and its answer), then the question (Question.Text, "Where was
// she born?") in the arm's template as the last user message. A question
// on its own is two messages, as in the article.
type Prompts struct {
	// System is the system message of every request.
	System string `json:"system"`
	// ClosedBook is the last user message of the base and fine-tuned arms;
	// it holds {question}.
	ClosedBook string `json:"closed_book"`
	// RAG is the last user message of the rag arms; it holds {question}
	// and {context}.
	RAG string `json:"rag"`
	// Passage renders one retrieved document inside {context}; it holds
	// {rank} (0-based) and {document}.
	Passage string `json:"passage"`
}

// ArticlePrompts are the prompts of the 2023 article, word for word.
var ArticlePrompts = Prompts{
	System: "You are a helpful assistant.",
	ClosedBook: "Answer this question to the best of your ability. If you don't know the answer, " +
		"say 'I don't know'.\n\nQUESTION: {question}\n\nANSWER:",
	RAG: "Answer the following QUESTION based on the CONTEXT only. Only answer from the Context. " +
		"If you don't know the answer, say 'I don't know'.\n\nQUESTION: {question}\n\nCONTEXT: {context}\n\nANSWER:",
	Passage: "[{rank}]: \n{document}\n\n",
}

// withDefaults fills each empty template from ArticlePrompts.
func (p Prompts) withDefaults() Prompts {
	if p.System == "" {
		p.System = ArticlePrompts.System
	}
	if p.ClosedBook == "" {
		p.ClosedBook = ArticlePrompts.ClosedBook
	}
	if p.RAG == "" {
		p.RAG = ArticlePrompts.RAG
	}
	if p.Passage == "" {
		p.Passage = ArticlePrompts.Passage
	}
	return p
}

// closedBook renders the closed-book conversation for q.
func (p Prompts) closedBook(q Question) []Message {
	return p.conversation(q, strings.NewReplacer("{question}", q.Text).Replace(p.ClosedBook))
}

// rag renders the conversation for q with the retrieved hits as context,
// in rank order.
func (p Prompts) rag(q Question, hits []Hit) []Message {
	var ctx strings.Builder
	for _, h := range hits {
		ctx.WriteString(strings.NewReplacer("{rank}", strconv.Itoa(h.Rank), "{document}", h.Document.Text).Replace(p.Passage))
	}
	// One pass, so a question or document that contains a placeholder is
	// not expanded twice.
	return p.conversation(q, strings.NewReplacer("{question}", q.Text, "{context}", ctx.String()).Replace(p.RAG))
}

// conversation is the system message, q's earlier turns and last.
func (p Prompts) conversation(q Question, last string) []Message {
	msgs := make([]Message, 0, len(q.Messages)+2)
	msgs = append(msgs, Message{Role: RoleSystem, Content: p.System})
	for _, m := range q.Messages {
		msgs = append(msgs, Message{Role: m.Role, Content: m.Content, Name: m.Name})
	}
	return append(msgs, Message{Role: RoleUser, Content: last})
}
