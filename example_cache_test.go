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

// A RateLimiter driven by a fake clock: 120 requests a minute are one
// every half second, and a 429's Retry-After holds everyone back.
func ExampleRateLimiter() {
	r := ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 120})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 3 {
		fmt.Println(r.ReserveAt(now, 0).DelayFrom(now))
	}
	r.PauseUntil(now.Add(3 * time.Second))
	fmt.Println(r.ReserveAt(now, 0).DelayFrom(now))
	// Output:
	// 0s
	// 500ms
	// 1s
	// 3s
}
