//go:build unix

package ragvsft_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// Tests in this file run real commands: examples/train-local, built once,
// and small sh scripts standing in for trainers that fail, hang or print
// the wrong thing. The trained model is served by ragvsfttest over HTTP,
// loaded through its vLLM LoRA endpoint.

// counted wraps argv in sh so that each run appends a line to the file
// $RUNS_FILE before exec'ing argv: the number of lines is the number of
// times the training command ran.
func counted(argv ...string) []string {
	return append([]string{"sh", "-c", `echo run >> "$RUNS_FILE" && exec "$@"`, "sh"}, argv...)
}

func runs(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(b), "run\n")
}

// script is a training command written in sh.
func script(body string) []string { return []string{"sh", "-c", body} }

func TestCommandFineTuner(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "train-local")
	out, err := exec.Command("go", "build", "-o", bin, "./examples/train-local").CombinedOutput()
	require.NoError(t, err, "building examples/train-local: %s", out)

	// tuner returns a CommandFineTuner serving through s, counting its
	// runs in a file of its own.
	tuner := func(t *testing.T, s *ragvsfttest.OpenAIServer, command []string) (*ragvsft.CommandFineTuner, string, *syncBuffer) {
		dir := t.TempDir()
		runsFile := filepath.Join(dir, "runs")
		out := &syncBuffer{}
		return &ragvsft.CommandFineTuner{
			Command:  command,
			Env:      []string{"RUNS_FILE=" + runsFile},
			RunDir:   filepath.Join(dir, "run"),
			Serving:  wireConfig(s),
			LoadLoRA: true,
			Out:      out,
		}, runsFile, out
	}
	request := func(t *testing.T, n, epochs int) ragvsft.FineTuneRequest {
		return ragvsft.FineTuneRequest{
			BaseModel: ragvsft.LocalBaseModel, Training: cities(t, n),
			Hyperparameters: ragvsft.Hyperparameters{Epochs: epochs}, Suffix: "cities", Seed: 42,
		}
	}

	t.Run("experiment, then a rerun that trains nothing", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		ft, runsFile, out := tuner(t, s, counted(bin))
		events := &eventLog{}
		ft.OnEvent = events.add
		base, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.LocalBaseModel)
		require.NoError(t, err)
		experiment := func(s *ragvsfttest.OpenAIServer, tuner ragvsft.FineTuner) *ragvsft.Report {
			t.Helper()
			exp := &ragvsft.Experiment{
				Dataset: cities(t, 40), Base: base, BaseModel: ragvsft.LocalBaseModel,
				FineTuner: tuner, Hyperparameters: ragvsft.Hyperparameters{Epochs: 30},
				Suffix: "cities", Retriever: newRetriever(t),
			}
			rep, err := exp.Run(context.Background())
			require.NoError(t, err)
			return rep
		}
		rep := experiment(s, ft)
		want := experiment(s, ragvsft.LocalFineTuner{})
		require.Equal(t, 1, runs(t, runsFile))

		// The four arms ran; the fine-tuned ones answered over HTTP as the
		// local trainer's model answers in process, and it memorized the
		// cities in 30 epochs.
		require.Len(t, rep.Arms, 4)
		require.Equal(t, len(want.Results), len(rep.Results))
		for i, r := range rep.Results {
			assert.Equal(t, want.Results[i].Answer, r.Answer, "%s %s", r.Arm, r.QuestionID)
			assert.Empty(t, r.Error)
		}
		acc := map[ragvsft.Arm]float64{}
		for _, a := range rep.Arms {
			acc[a.Arm] = a.Accuracy
		}
		assert.Equal(t, map[ragvsft.Arm]float64{ragvsft.ArmBase: 0, ragvsft.ArmFineTuned: 1, ragvsft.ArmRAG: 1, ragvsft.ArmFineTunedRAG: 1}, acc)
		assert.Equal(t, want.FineTune.ModelID, rep.FineTune.ModelID, "the model is named as the local trainer names it")
		assert.Equal(t, want.FineTune.TrainedTokens, rep.FineTune.TrainedTokens)
		assert.Equal(t, want.FineTune.Hyperparameters, rep.FineTune.Hyperparameters)
		assert.False(t, rep.FineTune.Reused)

		// One metrics event per epoch, from the command's stdout; its
		// stderr reached Out.
		require.Len(t, events.events, 30)
		for i, e := range events.events {
			assert.Equal(t, "metrics", e.Type)
			assert.Equal(t, float64(i+1), e.Data["step"])
			assert.Contains(t, e.Data, "train_loss")
		}
		assert.Contains(t, out.String(), "train-local: training local-base on 40 examples: 30 epochs")
		assert.Contains(t, out.String(), "loaded LoRA adapter "+rep.FineTune.ModelID)

		// Rerun, same server: the adapter is already loaded, and vLLM's
		// 400 for that counts as success.
		again := experiment(s, ft)
		assert.Equal(t, 1, runs(t, runsFile), "a succeeded record is not trained again")
		assert.True(t, again.FineTune.Reused)
		assert.Contains(t, out.String(), "is already loaded")
		// Rerun on a fresh server (vLLM restarted): loaded again.
		fresh := newServer(t, ragvsfttest.ServerConfig{})
		ft.Serving = wireConfig(fresh)
		base, err = ragvsft.NewOpenAIModel(wireConfig(fresh), ragvsft.LocalBaseModel)
		require.NoError(t, err)
		third := experiment(fresh, ft)
		assert.Equal(t, 1, runs(t, runsFile))
		assert.True(t, third.FineTune.Reused)
		for i, r := range third.Results {
			assert.Equal(t, rep.Results[i].Answer, r.Answer)
		}
	})

	t.Run("what the command receives", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		copyTo := filepath.Join(t.TempDir(), "job.json")
		ft, _, _ := tuner(t, s, script(`cp "$RAGVSFT_JOB_FILE" "$COPY_TO" && echo '{"model": "cities-lora"}'`))
		ft.Env = append(ft.Env, "COPY_TO="+copyTo)
		ft.LoadLoRA = false
		req := request(t, 20, 0)
		req.Validation = cities(t, 12)
		res, err := ft.FineTune(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, "cities-lora", res.ModelID)
		assert.Equal(t, "cities-lora", res.Model.(*ragvsft.OpenAIModel).Name())
		assert.Equal(t, ragvsft.Hyperparameters{Epochs: 5, BatchSize: 1, LearningRateMultiplier: 0.05}, res.Hyperparameters,
			"auto resolved as OpenAI resolves it for 20 examples, kept when the result has none")
		assert.Zero(t, res.TrainedTokens, "unknown when the result has none")

		b, err := os.ReadFile(copyTo)
		require.NoError(t, err)
		var job ragvsft.CommandJob
		require.NoError(t, json.Unmarshal(b, &job))
		runDir, err := filepath.Abs(ft.RunDir)
		require.NoError(t, err)
		dir := filepath.Join(runDir, "finetune-"+job.Key)
		assert.Equal(t, ragvsft.CommandJob{
			Version: 1, Key: job.Key, BaseModel: ragvsft.LocalBaseModel,
			TrainingFile: filepath.Join(dir, "training.jsonl"), TrainingExamples: 20,
			ValidationFile:  filepath.Join(dir, "validation.jsonl"),
			Hyperparameters: res.Hyperparameters, Seed: 42, Suffix: "cities",
			OutputDir: filepath.Join(dir, "output"),
		}, job)
		assert.Equal(t, res.JobID, job.Key)
		assert.DirExists(t, job.OutputDir)
		for path, ds := range map[string]ragvsft.Dataset{job.TrainingFile: req.Training, job.ValidationFile: req.Validation} {
			var want bytes.Buffer
			require.NoError(t, ragvsft.WriteJSONL(&want, ds.Examples()))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, want.String(), string(got), "the file as WriteJSONL writes it")
		}
		rec := readCommandRecord(t, filepath.Join(runDir, "finetune-"+job.Key+".json"))
		assert.Equal(t, "succeeded", rec["status"])
		assert.Equal(t, "cities-lora", rec["model"])
		assert.Equal(t, []any{"sh", "-c", ft.Command[2]}, rec["command"])
		assert.NotContains(t, rec, "env", "Env may hold secrets: never recorded")

		// The command line is part of the key: another command trains again.
		ft.Command = script(`echo '{"model": "other"}'`)
		other, err := ft.FineTune(context.Background(), req)
		require.NoError(t, err)
		assert.NotEqual(t, res.JobID, other.JobID)
		assert.False(t, other.Reused)
	})

	t.Run("a file OpenAI would refuse is refused before the command runs", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		ft, runsFile, _ := tuner(t, s, counted(bin))
		_, err := ft.FineTune(context.Background(), request(t, 5, 0))
		var ve *ragvsft.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.ErrorContains(t, err, "5 examples; OpenAI requires at least 10")
		assert.Equal(t, 0, runs(t, runsFile))
	})

	t.Run("a failing command", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		ft, runsFile, _ := tuner(t, s, counted("sh", "-c", `for i in $(seq 1 30); do echo "step $i" >&2; done; echo "torch.OutOfMemoryError: CUDA out of memory" >&2; exit 3`))
		_, err := ft.FineTune(context.Background(), request(t, 20, 0))
		var ce *ragvsft.CommandError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, 3, ce.ExitCode)
		assert.Equal(t, 20, strings.Count(ce.Stderr, "\n")+1, "only the tail of stderr")
		assert.True(t, strings.HasPrefix(ce.Stderr, "step 12\n"), ce.Stderr)
		assert.True(t, strings.HasSuffix(ce.Stderr, "step 30\ntorch.OutOfMemoryError: CUDA out of memory"), ce.Stderr)
		assert.ErrorContains(t, err, `ragvsft: fine-tune command sh -c "echo run >> \"$RUNS_FILE\" && exec \"$@\"" sh sh -c`)
		assert.ErrorContains(t, err, "failed: exit status 3; its stderr ends with:\n")
		assert.ErrorContains(t, err, "CUDA out of memory")

		// Failed is recorded, and a rerun runs the command again.
		_, err = ft.FineTune(context.Background(), request(t, 20, 0))
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, 2, runs(t, runsFile))
	})

	t.Run("a command that cannot start", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		ft, _, _ := tuner(t, s, []string{filepath.Join(t.TempDir(), "no-such-trainer")})
		_, err := ft.FineTune(context.Background(), request(t, 20, 0))
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.ErrorContains(t, err, "ragvsft: starting fine-tune command ")
	})

	t.Run("no result line", func(t *testing.T) {
		tests := []struct {
			name, script, want string
		}{
			{"nothing on stdout", `echo working >&2`, "it exited 0 but printed nothing on stdout; the last line on stdout must be one JSON object {\"model\": NAME, ...}"},
			{"text last", `echo '{"model": "m"}'; echo done`, `it exited 0 but printed no result line; the last line on stdout must be one JSON object {"model": NAME, ...}, the last line was "done"`},
			{"an event last", `echo '{"type": "metrics", "step": 1}'`, `the last line was "{\"type\": \"metrics\", \"step\": 1}"`},
			{"no model", `echo '{"adapter_path": "out"}'`, `its result line "{\"adapter_path\": \"out\"}" has no "model"`},
			{"no adapter", `echo '{"model": "m"}'`, `has no "adapter_path", which LoadLoRA needs`},
			{"unknown field", `echo '{"model": "m", "adapter": "x"}'`, `json: unknown field "adapter"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newServer(t, ragvsfttest.ServerConfig{})
				ft, _, _ := tuner(t, s, script(tt.script))
				_, err := ft.FineTune(context.Background(), request(t, 20, 0))
				require.Error(t, err)
				assert.ErrorContains(t, err, "ragvsft: fine-tune command sh -c ")
				assert.ErrorContains(t, err, tt.want)
			})
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		// The command starts a child in its group, says so, and waits.
		ft, _, _ := tuner(t, s, script(`sleep 1000 & echo "child $!" >&2; wait`))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		child := make(chan int, 1)
		ft.Out = writerFunc(func(p []byte) {
			if _, after, ok := strings.Cut(string(p), ": child "); ok {
				pid, err := strconv.Atoi(strings.TrimSpace(after))
				if err == nil {
					child <- pid
					cancel()
				}
			}
		})
		_, err := ft.FineTune(ctx, request(t, 20, 0))
		require.ErrorIs(t, err, context.Canceled)
		assert.ErrorContains(t, err, "was stopped")
		pid := <-child

		recs, err := filepath.Glob(filepath.Join(ft.RunDir, "finetune-*.json"))
		require.NoError(t, err)
		require.Len(t, recs, 1)
		rec := readCommandRecord(t, recs[0])
		assert.Equal(t, "cancelled", rec["status"])
		assert.Contains(t, rec["error"], "context canceled")
		leader := int(rec["pid"].(float64))
		assert.False(t, alive(leader), "the command is gone")
		// The child got SIGKILL with its group; it may linger as a zombie
		// until init reaps it, but it no longer runs.
		require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 5*time.Millisecond, "the command's child is gone")
	})

	t.Run("a record left running by a crash", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		ft, runsFile, out := tuner(t, s, counted(bin))
		req := request(t, 20, 30)
		ft.LoadLoRA = false
		first, err := ft.FineTune(context.Background(), req)
		require.NoError(t, err)
		path := filepath.Join(ft.RunDir, "finetune-"+first.JobID+".json")

		// A process that is gone, as a crashed run leaves it.
		dead := exec.Command("true")
		require.NoError(t, dead.Run())
		setRecord(t, path, map[string]any{"status": "running", "pid": dead.Process.Pid})
		again, err := ft.FineTune(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, 2, runs(t, runsFile))
		assert.False(t, again.Reused)
		assert.Contains(t, out.String(), fmt.Sprintf("left running by pid %d, which is gone (a crash?); running it again", dead.Process.Pid))

		// A live process: refused, not trained twice at once.
		setRecord(t, path, map[string]any{"status": "running", "pid": os.Getpid()})
		_, err = ft.FineTune(context.Background(), req)
		assert.ErrorContains(t, err, fmt.Sprintf("is already running as pid %d", os.Getpid()))
		assert.Equal(t, 2, runs(t, runsFile))
	})

	t.Run("loading the adapter fails", func(t *testing.T) {
		tests := []struct {
			name   string
			script string
			base   func(s *ragvsfttest.OpenAIServer) string
			want   string
		}{
			{"not a saved model", `printf 'not a model' > "$(dirname "$RAGVSFT_JOB_FILE")/output/` + ragvsft.LocalModelFile + `"; echo '{"model": "m", "adapter_path": "."}'`,
				nil, `HTTP 500 Internal Server Error: `},
			{"no adapter at the path", `echo '{"model": "m", "adapter_path": "/nonexistent/adapter"}'`,
				nil, `HTTP 404 Not Found: Loading lora m failed: No adapter found for /nonexistent/adapter (the path must be one the serving server can read)`},
			{"no runtime LoRA endpoint", `echo '{"model": "m", "adapter_path": "out"}'`,
				func(s *ragvsfttest.OpenAIServer) string { return strings.TrimSuffix(s.URL, "/v1") + "/no-lora/v1" },
				`HTTP 404 Not Found: the server has no such endpoint: start vLLM with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newServer(t, ragvsfttest.ServerConfig{})
				ft, runsFile, _ := tuner(t, s, counted("sh", "-c", tt.script))
				if tt.base != nil {
					ft.Serving.BaseURL = tt.base(s)
				}
				_, err := ft.FineTune(context.Background(), request(t, 20, 0))
				require.Error(t, err)
				assert.ErrorContains(t, err, "ragvsft: loading LoRA adapter m from ")
				assert.ErrorContains(t, err, tt.want)
				assert.NotContains(t, err.Error(), wireKey)
				// Trained once; the next FineTune retries only the load.
				_, err = ft.FineTune(context.Background(), request(t, 20, 0))
				assert.ErrorContains(t, err, tt.want)
				assert.Equal(t, 1, runs(t, runsFile))
			})
		}
		t.Run("the message names the bad file", func(t *testing.T) {
			s := newServer(t, ragvsfttest.ServerConfig{})
			ft, _, _ := tuner(t, s, script(tests[0].script))
			_, err := ft.FineTune(context.Background(), request(t, 20, 0))
			assert.ErrorContains(t, err, "ragvsft: reading local model: localmodel: not a valid local model file: it does not start with")
		})
	})

	t.Run("configuration", func(t *testing.T) {
		s := newServer(t, ragvsfttest.ServerConfig{})
		tests := []struct {
			name string
			edit func(*ragvsft.CommandFineTuner)
			want string
		}{
			{"no command", func(f *ragvsft.CommandFineTuner) { f.Command = nil }, "ragvsft: command fine-tune: no Command"},
			{"no run folder", func(f *ragvsft.CommandFineTuner) { f.RunDir = "" }, "no RunDir"},
			{"no serving key", func(f *ragvsft.CommandFineTuner) { f.Serving.APIKey = "" }, "ragvsft: command fine-tune: the serving endpoint: ragvsft: no OpenAI API key"},
			{"LoRA without a base URL", func(f *ragvsft.CommandFineTuner) { f.Serving.BaseURL = "" }, "LoadLoRA needs Serving.BaseURL"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ft, runsFile, _ := tuner(t, s, counted(bin))
				tt.edit(ft)
				_, err := ft.FineTune(context.Background(), request(t, 20, 0))
				assert.ErrorContains(t, err, tt.want)
				assert.Equal(t, 0, runs(t, runsFile))
			})
		}
	})
}

func readCommandRecord(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(b, &rec))
	return rec
}

// setRecord overwrites fields of a record, as another process would have
// left them.
func setRecord(t *testing.T, path string, fields map[string]any) {
	t.Helper()
	rec := readCommandRecord(t, path)
	for k, v := range fields {
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux"
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) {
	f(p)
	return len(p), nil
}
