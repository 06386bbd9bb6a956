package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ragvsft/ragvsft"
)

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{
	"arm", "question_id", "question", "gold", "answer", "outcome", "correct", "type", "extracted", "expected", "reason",
	"gold_rank", "retrieved_ids", "latency_ms", "prompt_tokens", "completion_tokens", "model", "error",
	"cached_prompt_tokens", "cached", "cost_usd", "fact", "knowledge",
}

// WriteCSV writes r as results.csv: one row per item (arm and question),
// in the order of Results, with a header row. outcome is correct, wrong,
// abstained or error (ragvsft.Result.Outcome); correct is the verdict's
// (false for an abstention, which is not evaluated). retrieved_ids joins
// the context's document ids with spaces, best first; gold_rank is -1 when
// the gold document was not retrieved; type is the answer type the verdict
// compared (ragvsft.Verdict.Type); cost_usd is the item's cost (empty until
// ragvsft.Report.ApplyPrices); fact is ragvsft.Result.Fact (trained,
// held_out, unmapped, or empty when no fact was held out) and knowledge
// ragvsft.Result.Knowledge (known, unknown, or empty without a base arm's
// answer).
//
// When the report is priced, cost rows follow the items, told apart by an
// empty question_id: arm "fine-tuning" (model: the base model,
// prompt_tokens: the trained tokens), "embeddings" (model: the embedding
// model, prompt_tokens: the billed tokens), "judge" (model: the judge
// model, prompt_tokens: its prompt tokens) and "total" (every cost of the
// run, ragvsft.Report.TotalCostUSD).
func WriteCSV(w io.Writer, r *ragvsft.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	for _, res := range r.Results {
		ids := make([]string, len(res.Retrieved))
		for i, d := range res.Retrieved {
			ids[i] = d.ID
		}
		row := csvRow(map[string]string{
			"arm": string(res.Arm), "question_id": res.QuestionID, "question": res.Question, "gold": res.Gold,
			"answer": res.Answer, "outcome": string(outcome(res)), "correct": strconv.FormatBool(res.Verdict.Correct),
			"type": res.Verdict.Type, "extracted": res.Verdict.Extracted, "expected": res.Verdict.Expected,
			"reason": res.Verdict.Reason, "gold_rank": strconv.Itoa(res.GoldRank), "retrieved_ids": strings.Join(ids, " "),
			"latency_ms":    strconv.FormatFloat(float64(res.Latency.Microseconds())/1000, 'f', 3, 64),
			"prompt_tokens": strconv.Itoa(res.Usage.PromptTokens), "completion_tokens": strconv.Itoa(res.Usage.CompletionTokens),
			"model": res.Model, "error": res.Error, "cached_prompt_tokens": strconv.Itoa(res.Usage.CachedPromptTokens),
			"cached": strconv.FormatBool(res.Cached), "cost_usd": csvCost(r, res.CostUSD),
			"fact": res.Fact, "knowledge": res.Knowledge,
		})
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: writing CSV: %w", err)
		}
	}
	for _, row := range csvCostRows(r) {
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: writing CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	return nil
}

// csvColumn is the index of the column named name.
func csvColumn(name string) int {
	return slices.Index(csvHeader, name)
}

// csvRow lays out the values named by column in csvHeader's order; a column
// not named is empty. A name that is no column is a bug, caught by the
// tests.
func csvRow(values map[string]string) []string {
	row := make([]string, len(csvHeader))
	for name, v := range values {
		row[csvColumn(name)] = v
	}
	return row
}

// csvCost formats a cost for WriteCSV: empty when the report is not priced.
func csvCost(r *ragvsft.Report, usd float64) string {
	if r.Pricing == "" {
		return ""
	}
	return strconv.FormatFloat(usd, 'f', 6, 64)
}

// csvCostRows are the rows after the items of a priced report.
func csvCostRows(r *ragvsft.Report) [][]string {
	if r.Pricing == "" {
		return nil
	}
	row := func(what, model, tokens string, usd float64) []string {
		return csvRow(map[string]string{"arm": what, "prompt_tokens": tokens, "model": model, "cost_usd": csvCost(r, usd)})
	}
	var rows [][]string
	if ft := r.FineTune; ft != nil {
		rows = append(rows, row("fine-tuning", r.Settings.BaseModel, strconv.Itoa(ft.TrainedTokens), r.FineTuneCostUSD))
	}
	if e := r.Embedding; e != nil {
		rows = append(rows, row("embeddings", e.Model, strconv.Itoa(e.Usage.PromptTokens), e.CostUSD))
	}
	if j := r.Judge; j != nil {
		rows = append(rows, row("judge", j.Model, strconv.Itoa(j.Usage.PromptTokens), j.CostUSD))
	}
	return append(rows, row("total", "", "", r.TotalCostUSD()))
}
