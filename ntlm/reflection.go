package ntlm

import (
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Reflection (MS08-068): an attacker the client connects to hands the client's NEGOTIATE
// to a server in the client's own process and the CHALLENGE back, then logs in to that
// server with the client's AUTHENTICATE. The tokens are those of an honest exchange, so
// the only tell is that the challenge is one this process issued. Windows keeps the
// challenges its server has issued and its client refuses to answer one of them, unless
// the call is local; so does this package. A caller whose target names the issuing
// server (its configured names, this host's name, localhost or a loopback address) means
// to talk to it, and is answered: that is the in-process or same-host loopback an
// application sets up on purpose. An attacker on this host reached over loopback is not
// told apart, as on Windows.

const (
	// maxIssuedChallenges bounds the challenges remembered: 64 Ki of them, with the
	// queue's slots, take about 10 MiB at most. Past it the oldest are forgotten, which
	// only narrows detection: an attacker able to open that many unfinished handshakes
	// on this process's servers while holding a reflected CHALLENGE could push it out.
	// Refusing new challenges instead would hand the same attacker a denial of service.
	maxIssuedChallenges = 1 << 16
	// issuedChallengeLifetime is how long an unanswered challenge is remembered; a server
	// refuses an AUTHENTICATE long before (MaxClockSkew, 5 minutes by default).
	issuedChallengeLifetime = 10 * time.Minute
)

// issued holds the challenges this process's NTLM servers have sent and not yet seen
// answered.
var issued challengeRegistry

type issuedEntry struct {
	names *localNames
	at    time.Time
	seq   uint64
}

type queuedChallenge struct {
	ch  [8]byte
	at  time.Time
	seq uint64
}

// challengeRegistry is a map for look-ups plus a FIFO in issue order for expiry and the
// size cap, so that adding is amortised O(1). A consumed challenge leaves the map at once
// and its queue slot when it reaches the front.
type challengeRegistry struct {
	mu    sync.Mutex
	m     map[[8]byte]issuedEntry
	queue []queuedChallenge
	head  int
	seq   uint64
}

func (r *challengeRegistry) add(ch [8]byte, names *localNames, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[[8]byte]issuedEntry)
	}
	r.expire(now)
	// The queue holds live and consumed entries; bounding both bounds the memory.
	for len(r.m) >= maxIssuedChallenges || len(r.queue)-r.head >= 2*maxIssuedChallenges {
		r.popFront()
	}
	r.seq++
	r.m[ch] = issuedEntry{names: names, at: now, seq: r.seq}
	r.queue = append(r.queue, queuedChallenge{ch: ch, at: now, seq: r.seq})
}

func (r *challengeRegistry) expire(now time.Time) {
	for r.head < len(r.queue) && now.Sub(r.queue[r.head].at) > issuedChallengeLifetime {
		r.popFront()
	}
}

func (r *challengeRegistry) popFront() {
	q := r.queue[r.head]
	r.queue[r.head] = queuedChallenge{}
	r.head++
	if e, ok := r.m[q.ch]; ok && e.seq == q.seq {
		delete(r.m, q.ch)
	}
	if r.head == len(r.queue) {
		r.queue, r.head = r.queue[:0], 0
	} else if r.head > 1024 && r.head > len(r.queue)/2 {
		n := copy(r.queue, r.queue[r.head:])
		r.queue, r.head = r.queue[:n], 0
	}
}

// consume forgets ch: its AUTHENTICATE has come, or its server context is gone.
func (r *challengeRegistry) consume(ch [8]byte) {
	r.mu.Lock()
	delete(r.m, ch)
	r.mu.Unlock()
}

// lookup returns the names of the server that issued ch, or nil if this process did not
// issue it (or it expired or was answered).
func (r *challengeRegistry) lookup(ch [8]byte, now time.Time) *localNames {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[ch]
	if !ok || now.Sub(e.at) > issuedChallengeLifetime {
		return nil
	}
	return e.names
}

func (r *challengeRegistry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// localNames are the host names a server of this process answers to, lower-cased.
type localNames struct {
	names []string
}

func newLocalNames(cfg *ServerConfig) *localNames {
	n := &localNames{}
	addName := func(s string) {
		s = strings.TrimSuffix(strings.ToLower(s), ".")
		if s != "" {
			n.names = append(n.names, s)
		}
	}
	addName(cfg.NetBIOSComputer)
	addName(cfg.DNSComputer)
	if !strings.Contains(cfg.DNSComputer, ".") && cfg.DNSDomain != "" {
		addName(cfg.DNSComputer + "." + cfg.DNSDomain)
	}
	if h, err := os.Hostname(); err == nil {
		addName(h)
	}
	return n
}

// isTarget reports whether target, an SPN ("host/server.example.com", "HTTP/h:8080",
// "host@server") or a bare host name, names this server or a loopback address.
func (n *localNames) isTarget(target string) bool {
	host := spnHost(target)
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	for _, s := range n.names {
		if host == s {
			return true
		}
	}
	return false
}

// spnHost returns the lower-cased host part of an SPN, without port or service name.
func spnHost(target string) string {
	host := target
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[i+1:]
		if j := strings.IndexByte(host, '/'); j >= 0 {
			host = host[:j] // "service/host:port/name"
		}
	} else if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:] // GSS "service@host"
	}
	if strings.HasPrefix(host, "[") {
		if j := strings.IndexByte(host, ']'); j > 0 {
			host = host[1:j]
		}
	} else if strings.Count(host, ":") == 1 {
		host = host[:strings.IndexByte(host, ':')]
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}
