package winbind

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

// helper is one long-running `ntlm_auth --helper-protocol=ntlm-server-1`. The protocol
// has no request ids, so a helper serves one logon at a time, and one whose answer is
// not what was expected (or late) is killed rather than reused: its stream may be out of
// step.
type helper struct {
	cmd    *exec.Cmd
	stderr *tailBuffer
	in     io.WriteCloser
	out    *bufio.Reader
	done   chan struct{} // closed when the process has exited
	once   sync.Once
}

func (v *Verifier) start() (*helper, error) {
	args := append(v.baseArgs(), "--helper-protocol=ntlm-server-1")
	cmd := exec.Command(v.cfg.NTLMAuth, args...)
	cmd.Env = v.env()
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &tailBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("winbind: starting ntlm_auth: %w", err)
	}
	h := &helper{cmd: cmd, stderr: stderr, in: in, out: bufio.NewReaderSize(out, maxLine), done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(h.done)
	}()
	return h, nil
}

func (h *helper) kill() {
	h.once.Do(func() {
		h.in.Close()
		h.cmd.Process.Kill()
	})
}

// take returns an idle helper, starts one if the pool has room, or waits.
func (v *Verifier) take(ctx context.Context) (*helper, error) {
	for {
		select {
		case h := <-v.idle:
			select {
			case <-h.done: // died while idle
				v.drop(h)
				continue
			default:
				return h, nil
			}
		case <-v.slot:
			h, err := v.start()
			if err != nil {
				v.slot <- struct{}{}
				return nil, err
			}
			v.mu.Lock()
			if v.shut {
				v.mu.Unlock()
				h.kill()
				return nil, errors.New("winbind: the verifier is closed")
			}
			v.all[h] = struct{}{}
			v.mu.Unlock()
			return h, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("winbind: no ntlm_auth helper free in time: %w", ctx.Err())
		}
	}
}

// drop forgets a dead or killed helper and frees its slot.
func (v *Verifier) drop(h *helper) {
	h.kill()
	v.mu.Lock()
	delete(v.all, h)
	v.mu.Unlock()
	v.slot <- struct{}{}
}

// pooled runs one logon on a helper of the pool.
func (v *Verifier) pooled(ctx context.Context, q *query) (*answer, error) {
	h, err := v.take(ctx)
	if err != nil {
		return nil, err
	}
	type result struct {
		a   *answer
		err error
	}
	ch := make(chan result, 1)
	go func() {
		if _, err := h.in.Write(q.marshal()); err != nil {
			ch <- result{nil, fmt.Errorf("winbind: writing to ntlm_auth: %w", err)}
			return
		}
		a, err := readAnswer(h.out)
		if err != nil {
			if tail := h.stderr.String(); tail != "" {
				err = fmt.Errorf("%w (ntlm_auth: %s)", err, bounded(tail))
			}
		}
		ch <- result{a, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			v.drop(h)
			return nil, r.err
		}
		v.idle <- h
		return r.a, nil
	case <-ctx.Done():
		v.drop(h) // its answer may still come: the stream is out of step
		return nil, fmt.Errorf("winbind: ntlm_auth did not answer in time: %w", ctx.Err())
	}
}

var sidPattern = regexp.MustCompile(`^S-1-[0-9-]+$`)

// lookupGroups asks winbind for the user's SID (wbinfo -n) and the SIDs of its groups
// (wbinfo --user-sids, which answers with the user's own SID first) and gives the result
// a token with them.
func (v *Verifier) lookupGroups(ctx context.Context, res *ntlm.LogonResult) error {
	name := res.User
	if res.Domain != "" {
		name = res.Domain + `\` + res.User
	}
	out, err := v.wbinfo(ctx, "-n", name)
	if err != nil {
		return err
	}
	sid, _, _ := strings.Cut(strings.TrimSpace(out), " ")
	if !sidPattern.MatchString(sid) {
		return fmt.Errorf("winbind: wbinfo -n answered %q, not a SID", bounded(out))
	}
	t := &sspi.AccessToken{Source: sspi.AuthzDomainLogon, UserName: res.User, LogonDomain: res.Domain, UserSID: sid}
	if i := strings.LastIndexByte(sid, '-'); i > 0 {
		t.DomainSID = sid[:i]
	}
	if out, err = v.wbinfo(ctx, "--user-sids="+sid); err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		s := strings.TrimSpace(line)
		if s == "" || s == sid {
			continue
		}
		if !sidPattern.MatchString(s) {
			return fmt.Errorf("winbind: wbinfo --user-sids answered %q, not a SID", bounded(s))
		}
		t.Groups = append(t.Groups, sspi.GroupSID{SID: s, Attributes: sspi.GroupMandatory | sspi.GroupEnabledByDefault | sspi.GroupEnabled})
	}
	res.Token = t
	return nil
}

func (v *Verifier) wbinfo(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, v.cfg.WBInfo, args...)
	cmd.Env = v.env()
	var out strings.Builder
	cmd.Stdout = &limitedWriter{w: &out, n: 64 << 10}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("winbind: wbinfo %s: %w", args[0], err)
	}
	return out.String(), nil
}

// tailBuffer keeps the last bytes a helper wrote to its standard error, for errors.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 512 {
		t.b = append(t.b[:0], t.b[len(t.b)-512:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
