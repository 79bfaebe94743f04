package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// ErrPortsExhausted is returned by Ports.Listen when every even port of the
// range is taken.
var ErrPortsExhausted = errors.New("no free RTP port")

// Ports hands out the even ports of a range for RTP (the odd neighbour is
// left for RTCP, RFC 3550). It is safe for concurrent use.
type Ports struct {
	ip    netip.Addr
	first int // first even port of the range

	mu     sync.Mutex
	live   []*Session // by (port-first)/2; nil when the port is free
	next   int        // where the next search starts, so ports rotate
	count  int        // ports in use
	closed Stats      // the counters of every session already closed
}

// NewPorts makes an allocator for the even ports in [min, max] bound on ip
// ("" or "0.0.0.0" for every interface).
func NewPorts(ip string, min, max int) (*Ports, error) {
	addr := netip.IPv4Unspecified()
	if ip != "" {
		var err error
		if addr, err = netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("rtp ports: bad ip %q: %w", ip, err)
		}
		addr = addr.Unmap()
	}
	if min < 1 || max > 65535 || min > max {
		return nil, fmt.Errorf("rtp ports: bad range %d-%d (want 1 <= min <= max <= 65535)", min, max)
	}
	first := min + min%2
	if first > max {
		return nil, fmt.Errorf("rtp ports: range %d-%d holds no even port", min, max)
	}
	return &Ports{ip: addr, first: first, live: make([]*Session, (max-first)/2+1)}, nil
}

// InUse is the number of ports currently held by open sessions.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// Listen binds UDP on the allocator's address and a free even port of the
// range and returns a session on it; ports taken by other programs are
// skipped. It fails with ErrPortsExhausted when none is left.
func (p *Ports) Listen() (*Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.live)
	for k := range n {
		i := (p.next + k) % n
		if p.live[i] != nil {
			continue
		}
		port := p.first + 2*i
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, fmt.Errorf("rtp listen %s:%d: %w", p.ip, port, err)
		}
		s := newSession(p, conn, port)
		p.live[i] = s
		p.count++
		p.next = (i + 1) % n
		return s, nil
	}
	return nil, fmt.Errorf("%w in %s:%d-%d", ErrPortsExhausted, p.ip, p.first, p.first+2*(n-1))
}

// Stats returns the counters of every session the allocator handed out,
// open or closed, summed: the media traffic of the whole server. It costs
// one pass over the open sessions and nothing on the packet path.
func (p *Ports) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := p.closed
	for _, s := range p.live {
		if s != nil {
			total.add(s.Stats())
		}
	}
	return total
}

// release gives s's port back and keeps its counters in the totals.
func (p *Ports) release(s *Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := (s.port - p.first) / 2; i >= 0 && i < len(p.live) && p.live[i] == s {
		p.live[i] = nil
		p.count--
		p.closed.add(s.Stats())
	}
}
