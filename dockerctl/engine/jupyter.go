package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Jupyter readiness.
const (
	ReadyPoll    = 100 * time.Millisecond
	ReadyTimeout = 90 * time.Second
)

var httpClient = &http.Client{Timeout: 2 * time.Second}

// WaitJupyter polls GET /api/status with the token until it answers 200.
// It returns the URL to open: the path the server serves (/tree or /lab for
// jupyter_server images, / for classic Notebook 6) with the token.
func (e *Engine) WaitJupyter(ctx context.Context, c *model.Container, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = ReadyTimeout
	}
	base, client := c.Base(), e.jupyterClient(c)
	began := time.Now()
	deadline := began.Add(timeout)
	tick := time.NewTicker(ReadyPoll)
	defer tick.Stop()
	var lastErr error
	for {
		code, err := jupyterGetWith(ctx, client, base+"/api/status", c.Token)
		if err == nil && code == http.StatusOK {
			return base + jupyterPath(ctx, client, base, c.Token) + "?token=" + c.Token, nil
		}
		lastErr = err
		if err == nil {
			lastErr = fmt.Errorf("GET /api/status answered %d", code)
		}
		// An inspect that fails says nothing of the container: keep
		// probing until the deadline.
		if running, err := e.running(ctx, c.ID); err == nil && !running {
			lastErr = model.ErrNotRunning
			break
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
		}
	}
	logs, _ := e.LastLogs(ctx, c.ID, 20) // the error below says what matters; the logs only illustrate it
	waited := time.Since(began).Round(100 * time.Millisecond)
	return "", &model.UnreachableJupyterError{URL: c.URL(), Waited: waited, LastErr: lastErr, Logs: logs}
}

// jupyterClient reaches the container's Jupyter: at its published port,
// or through the Engine's exec when it has none (one exec per request:
// probes are seconds apart).
func (e *Engine) jupyterClient(c *model.Container) *http.Client {
	if !c.Unpublished {
		return httpClient
	}
	id, port := c.ID, c.JupyterPort()
	// An exec (over ssh, on a busy machine) takes longer than a request to
	// a published port: a longer bound, so a slow probe is not a dead Jupyter.
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return e.DialJupyter(ctx, id, port) },
		DisableKeepAlives: true,
	}}
}

// jupyterGet returns the status code of an authenticated GET ("" token: none).
func JupyterGet(ctx context.Context, url, token string) (int, error) {
	return jupyterGetWith(ctx, httpClient, url, token)
}

func jupyterGetWith(ctx context.Context, client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drained so the connection is reused; the status is already known.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// jupyterPath is where a browser should land: classic Notebook 6 serves its
// tree at /, jupyter_server based images at /lab (JupyterLab) or /tree.
func jupyterPath(ctx context.Context, client *http.Client, base, token string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api", nil)
	if err != nil {
		return "/"
	}
	resp, err := client.Do(req)
	if err != nil {
		return "/"
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return "/"
	}
	major, err := strconv.Atoi(strings.SplitN(v.Version, ".", 2)[0])
	if err != nil {
		return "/" // no version to go by: the classic path works on both
	}
	if major > 0 && major < 7 {
		return "/" // classic Notebook
	}
	for _, p := range []string{"/lab", "/tree"} {
		if code, err := jupyterGetWith(ctx, client, base+p, token); err == nil && code == http.StatusOK {
			return p
		}
	}
	return "/"
}

func (e *Engine) running(ctx context.Context, id string) (bool, error) {
	insp, err := e.api.ContainerInspect(ctx, id)
	if err != nil {
		return false, err
	}
	return insp.State != nil && insp.State.Running, nil
}

// ServedDir is the folder the container's Jupyter serves: from its command
// line when it says (--notebook-dir and the like), else as the running
// Jupyter answers `jupyter server list --json` or `jupyter notebook list
// --json` (a config file may set it), else the working directory.
func (e *Engine) ServedDir(ctx context.Context, c *model.Container) string {
	if c.ServedDir != "" {
		return c.ServedDir
	}
	r, err := e.Exec(ctx, c.ID, "sh", "-c", `for a in server notebook; do jupyter $a list --json 2>/dev/null; done; exit 0`)
	if err == nil {
		for _, line := range strings.Split(string(r.Stdout), "\n") {
			var s struct {
				RootDir     string `json:"root_dir"`
				NotebookDir string `json:"notebook_dir"`
			}
			if json.Unmarshal([]byte(line), &s) != nil {
				continue
			}
			if d := cmp.Or(s.RootDir, s.NotebookDir); path.IsAbs(d) {
				return path.Clean(d)
			}
		}
	}
	return c.Workdir
}

// ProbeJupyter asks the container's Jupyter once whether it answers
// (GET /api/status with the token).
func (e *Engine) ProbeJupyter(ctx context.Context, c *model.Container) error {
	code, err := jupyterGetWith(ctx, e.jupyterClient(c), c.Base()+"/api/status", c.Token)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET /api/status answered %d", code)
	}
	return nil
}
