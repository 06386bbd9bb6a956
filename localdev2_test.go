package ragvsft

import (
	"context"
	"os"
	"testing"
)

func TestLocalDevCompaniesReader(t *testing.T) {
	if os.Getenv("LOCALDEV") == "" {
		t.Skip()
	}
	comp, _ := os.ReadFile("testdata/companies.jsonl")
	qs := questionsOf(parseJSONLForTest(t, comp))
	ok, idk, wrong := 0, 0, 0
	for i, q := range qs {
		c := i / 3 * 3
		docs := []string{qs[(i+50)%180].gold, qs[c+(i+1)%3].gold, qs[c+(i+2)%3].gold, qs[(i+91)%180].gold}
		withGold := append([]string{}, docs[:i%4]...)
		withGold = append(withGold, q.gold)
		withGold = append(withGold, docs[i%4:]...)
		resp, _ := NewLocalModel().Chat(context.Background(), ragRequest(q.question, withGold))
		if resp.Content == q.gold {
			ok++
		} else {
			t.Logf("MISS %s -> %s", q.question, resp.Content)
		}
		resp, _ = NewLocalModel().Chat(context.Background(), ragRequest(q.question, docs))
		if resp.Content == localAbstention {
			idk++
		} else {
			wrong++
			t.Logf("WRONG %s -> %s", q.question, resp.Content)
		}
	}
	t.Logf("with gold %d/%d; without gold: idk %d wrong %d", ok, len(qs), idk, wrong)
}
