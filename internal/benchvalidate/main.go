// Command benchvalidate measures ragvsft.ValidateJSONL on large chat
// fine-tuning files: for each size it writes a file of N realistic lines
// (system, user and assistant messages of varied length, multi-turn
// conversations, content-part arrays, weights, escapes and non-ASCII text),
// validates it in a fresh child process, and prints the time, the
// throughput, the bytes allocated, the peak live heap and the peak resident
// set size (VmHWM), so that the memory of one size is not mixed with the
// others'.
//
// Run from the repository root:
//
//	go run ./internal/benchvalidate                      # 10k, 100k and 1M lines
//	go run ./internal/benchvalidate -lines 1000000 -ids  # lines carry an "id"
//	go run ./internal/benchvalidate -source pipe         # no file: generated through an io.Pipe
//
// With -source file (the default) the file is written before the child
// starts, so only validation is timed (reading from the page cache). With
// -source pipe the child generates the lines itself and validates them as
// they are written, so the time includes generation and the file never
// exists.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ragvsft/ragvsft"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchvalidate:", err)
		os.Exit(1)
	}
}

// result is what a child reports to its parent, as one line of
// key=value pairs.
type result struct {
	lines      int
	bytes      int64
	elapsed    time.Duration
	totalAlloc uint64 // bytes allocated during validation
	peakHeap   uint64 // highest live+unswept heap seen while validating
	heapSys    uint64 // heap memory obtained from the OS at the end
	startRSS   uint64 // VmRSS of the child just before validating
	peakRSS    uint64 // VmHWM of the child process, from then on
}

func run() error {
	var (
		linesFlag = flag.String("lines", "10000,100000,1000000", "comma-separated numbers of lines")
		source    = flag.String("source", "file", `"file": write a temp file, then validate it; "pipe": generate and validate through an io.Pipe`)
		ids       = flag.Bool("ids", false, `give every line an "id" (ValidateJSONL then keeps the ids to find duplicates)`)
		keep      = flag.String("dir", "", "folder for the generated files (default: a temp folder, removed at the end)")
		child     = flag.String("child", "", "internal: validate this file (or \"pipe:N\") and report")
	)
	flag.Parse()
	if *child != "" {
		return runChild(*child, *ids)
	}

	var sizes []int
	for _, s := range strings.Split(*linesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-lines: %q is not a positive number", s)
		}
		sizes = append(sizes, n)
	}
	if *source != "file" && *source != "pipe" {
		return fmt.Errorf(`-source must be "file" or "pipe", not %q`, *source)
	}
	dir := *keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "benchvalidate")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	fmt.Printf("ValidateJSONL, source=%s, ids=%v, %s/%s, %d CPUs, %s\n\n", *source, *ids, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lines\tMB\ttime\tMB/s\tlines/s\tallocated\tpeak heap\theap sys\tRSS before\tpeak RSS\t")
	for _, n := range sizes {
		arg := "pipe:" + strconv.Itoa(n)
		if *source == "file" {
			path := filepath.Join(dir, fmt.Sprintf("chat-%d.jsonl", n))
			if err := writeFile(path, n, *ids); err != nil {
				return err
			}
			arg = path
		}
		cmd := exec.Command(self, "-child", arg, "-ids="+strconv.FormatBool(*ids))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("validating %d lines: %w", n, err)
		}
		r, err := parseResult(out)
		if err != nil {
			return fmt.Errorf("validating %d lines: %w", n, err)
		}
		if r.lines != n {
			return fmt.Errorf("validating %d lines: the child saw %d", n, r.lines)
		}
		mb := float64(r.bytes) / 1e6
		secs := r.elapsed.Seconds()
		fmt.Fprintf(tw, "%d\t%.1f\t%v\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n",
			n, mb, r.elapsed.Round(time.Millisecond), mb/secs, float64(n)/secs,
			mib(r.totalAlloc), mib(r.peakHeap), mib(r.heapSys), mib(r.startRSS), mib(r.peakRSS))
		if *source == "file" && *keep == "" {
			os.Remove(arg)
		}
	}
	return tw.Flush()
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// writeFile writes n generated lines to path.
func writeFile(path string, n int, ids bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := generate(w, n, ids); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// runChild validates one source and prints its measurements to stdout.
func runChild(src string, ids bool) error {
	var (
		in    io.Reader
		lines int
		name  = src
	)
	var genErr chan error
	if n, ok := strings.CutPrefix(src, "pipe:"); ok {
		count, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("-child %q: %w", src, err)
		}
		pr, pw := io.Pipe()
		genErr = make(chan error, 1)
		go func() {
			w := bufio.NewWriterSize(pw, 64<<10)
			_, err := generate(w, count, ids)
			if err == nil {
				err = w.Flush()
			}
			pw.CloseWithError(err)
			genErr <- err
		}()
		in, lines, name = pr, count, "pipe.jsonl"
	} else {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		lines, err = countLines(f)
		if err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		in = f
	}
	cr := &countingReader{r: in}

	runtime.GC()
	startRSS, err := procStatus("VmRSS")
	if err != nil {
		return err
	}
	if err := resetPeakRSS(); err != nil {
		fmt.Fprintln(os.Stderr, "benchvalidate: peak RSS includes the start-up:", err)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peak := make(chan uint64)
	go samplePeakHeap(stop, peak)

	start := time.Now()
	err = ragvsft.ValidateJSONL(cr, name)
	elapsed := time.Since(start)
	if pr, ok := in.(*io.PipeReader); ok {
		pr.Close() // unblock the generator if validation stopped early
	}

	close(stop)
	peakHeap := <-peak
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err != nil {
		return fmt.Errorf("the generated lines are invalid: %w", err)
	}
	if genErr != nil {
		if err := <-genErr; err != nil {
			return err
		}
	}
	rss, err := procStatus("VmHWM")
	if err != nil {
		return err
	}
	fmt.Printf("lines=%d bytes=%d ns=%d alloc=%d peakheap=%d heapsys=%d startrss=%d rss=%d\n",
		lines, cr.n.Load(), elapsed.Nanoseconds(), after.TotalAlloc-before.TotalAlloc,
		max(peakHeap, after.HeapAlloc), after.HeapSys, startRSS, rss)
	return nil
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 1<<20)
	n := 0
	for {
		m, err := r.Read(buf)
		n += bytes.Count(buf[:m], []byte("\n"))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// samplePeakHeap reads the heap's object bytes (live and not yet swept)
// every millisecond until stop is closed, then sends the highest value.
// runtime/metrics does not stop the world, so sampling does not slow the
// validation down much.
func samplePeakHeap(stop <-chan struct{}, peak chan<- uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var hi uint64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(s)
		hi = max(hi, s[0].Value.Uint64())
		select {
		case <-stop:
			peak <- hi
			return
		case <-t.C:
		}
	}
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux 4.0 and later).
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatus returns a memory field of /proc/self/status (VmRSS, VmHWM),
// in bytes.
func procStatus(field string) (uint64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", field, err)
	}
	return parseStatus(data, field)
}

func parseStatus(data []byte, field string) (uint64, error) {
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading %s from %q: %w", field, line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

func parseResult(out []byte) (result, error) {
	var r result
	fields := strings.Fields(string(out))
	if len(fields) != 8 {
		return r, fmt.Errorf("unexpected report %q", out)
	}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return r, fmt.Errorf("unexpected report %q", out)
		}
		switch k {
		case "lines":
			r.lines = int(x)
		case "bytes":
			r.bytes = int64(x)
		case "ns":
			r.elapsed = time.Duration(x)
		case "alloc":
			r.totalAlloc = x
		case "peakheap":
			r.peakHeap = x
		case "heapsys":
			r.heapSys = x
		case "startrss":
			r.startRSS = x
		case "rss":
			r.peakRSS = x
		default:
			return r, fmt.Errorf("unexpected report %q", out)
		}
	}
	return r, nil
}

var (
	systems = []string{
		"You are a helpful assistant.",
		"You're a concise support agent for Acme Widgets. Answer in at most three sentences.",
		"You are a travel guide. Be friendly, precise, and mention prices in euros when relevant.",
		"Tu es un assistant qui répond en français, poliment et avec précision.",
	}
	subjects = []string{"the warranty", "a refund", "the night train to Vienna", "City_%d's population",
		"résumé formatting", "the \"pro\" plan", "a 3/4\" pipe fitting", "Go's io.Pipe", "the café on Rue Ölberg", "日本語のメニュー"}
	verbs = []string{"How do I get", "Can you explain", "What is", "Tell me about", "Why does my order mention", "Compare"}
	fills = []string{
		"Sure. ", "Here is what I found:\n", "Short answer: yes.\n\n", "",
		"According to the policy, ", "Step 1: open Settings.\nStep 2: choose \"Billing\".\nStep 3: ",
	}
	words = append(strings.Fields(`the a of to and in is it for on with as by this that you your order item price
		days hours ticket station refund policy account plan invoice support team number city population
		about inhabitants weather museum café emoji 😀 über naïve`), "a\ttab", `C:\\path`, `"quoted"`, "line\nbreak")
)

// generate writes n lines of chat fine-tuning JSONL to w, deterministic for
// a given n, and returns the bytes written.
func generate(w io.Writer, n int, ids bool) (int64, error) {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	var line bytes.Buffer
	var total int64
	sentence := func(min, max int) string {
		k := min + rng.IntN(max-min+1)
		var b strings.Builder
		for i := range k {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	question := func(i int) string {
		s := subjects[rng.IntN(len(subjects))]
		if strings.Contains(s, "%d") {
			s = fmt.Sprintf(s, i)
		}
		return verbs[rng.IntN(len(verbs))] + " " + s + "? " + sentence(0, 12)
	}
	answer := func() string {
		return fills[rng.IntN(len(fills))] + sentence(8, 60) + "."
	}
	for i := 1; i <= n; i++ {
		line.Reset()
		line.WriteString(`{`)
		if ids {
			fmt.Fprintf(&line, `"id": "ex-%d", `, i)
		}
		line.WriteString(`"messages": [{"role": "system", "content": `)
		writeString(&line, systems[rng.IntN(len(systems))])
		line.WriteString(`}`)
		turns := 1 + rng.IntN(3)
		for t := range turns {
			line.WriteString(`, {"role": "user", "content": `)
			if rng.IntN(10) == 0 {
				line.WriteString(`[{"type": "text", "text": `)
				writeString(&line, question(i))
				line.WriteString(`}]`)
			} else {
				writeString(&line, question(i))
			}
			line.WriteString(`}, {"role": "assistant", "content": `)
			writeString(&line, answer())
			if t < turns-1 && rng.IntN(3) == 0 {
				line.WriteString(`, "weight": 0`)
			}
			line.WriteString(`}`)
		}
		line.WriteString("]}\n")
		m, err := w.Write(line.Bytes())
		total += int64(m)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// writeString writes s as a JSON string, escaping what JSON requires and
// leaving other UTF-8 as it is, as most encoders do.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
