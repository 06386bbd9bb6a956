package ragvsft

import (
	"strconv"
	"strings"
)

// Prompts are the templates an Experiment fills in. Placeholders are
// written {question}, {context}, {rank} and {document}. A zero field means
// the article's template (ArticlePrompts).
type Prompts struct {
	// System is the system message of every request.
	System string `json:"system"`
	// ClosedBook is the user message of the base and fine-tuned arms; it
	// holds {question}.
	ClosedBook string `json:"closed_book"`
	// RAG is the user message of the rag arms; it holds {question} and
	// {context}.
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

// closedBook renders the closed-book conversation for question q.
func (p Prompts) closedBook(q string) []Message {
	user := strings.NewReplacer("{question}", q).Replace(p.ClosedBook)
	return []Message{{Role: RoleSystem, Content: p.System}, {Role: RoleUser, Content: user}}
}

// rag renders the conversation for question q with the retrieved hits as
// context, in rank order.
func (p Prompts) rag(q string, hits []Hit) []Message {
	var ctx strings.Builder
	for _, h := range hits {
		ctx.WriteString(strings.NewReplacer("{rank}", strconv.Itoa(h.Rank), "{document}", h.Document.Text).Replace(p.Passage))
	}
	// One pass, so a question or document that contains a placeholder is
	// not expanded twice.
	user := strings.NewReplacer("{question}", q, "{context}", ctx.String()).Replace(p.RAG)
	return []Message{{Role: RoleSystem, Content: p.System}, {Role: RoleUser, Content: user}}
}
