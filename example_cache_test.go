package ragvsft_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ragvsft/ragvsft"
)

// A Cache in front of a model: the second identical request is answered
// from disk.
func ExampleCache() {
	dir, err := os.MkdirTemp("", "ragvsft-cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cache, err := ragvsft.OpenCache(dir)
	if err != nil {
		panic(err)
	}
	model := cache.Model("local", ragvsft.NewLocalModel())
	req := ragvsft.ChatRequest{Messages: []ragvsft.Message{
		{Role: ragvsft.RoleUser, Content: "QUESTION: What is the population of City_7?\n\nCONTEXT: [0]: \nCity_7 has about 4242424 inhabitants.\n\nANSWER:"},
	}}
	for range 2 {
		if _, err := model.Chat(context.Background(), req); err != nil {
			panic(err)
		}
	}
	fmt.Printf("hits %d, misses %d\n", cache.Hits(), cache.Misses())
	// Output:
	// hits 1, misses 1
}

// One RateLimiter for everything that counts against the same limit: the
// base model and the judge share 120 requests a minute, one every half
// second, so the third call goes a second after the first.
func ExampleRateLimiter() {
	limiter := ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 120})
	base := limiter.LimitModel(ragvsft.NewLocalModel())
	judge := limiter.LimitModel(ragvsft.NewLocalModel())
	req := ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "What is the population of City_1?"}}}
	start := time.Now()
	for _, m := range []ragvsft.Model{base, judge, base} {
		if _, err := m.Chat(context.Background(), req); err != nil {
			panic(err)
		}
	}
	fmt.Println(time.Since(start).Truncate(time.Second))
	// Output:
	// 1s
}
