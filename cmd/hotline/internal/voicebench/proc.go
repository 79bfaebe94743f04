package voicebench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// udpDrops tracks the receive-buffer drops of the hub's RTP sockets, read
// from /proc/net/udp: packets that reached the hub's port but found its
// socket's buffer full (the receive goroutine was late). Only sockets of
// this process count (sipp's may sit in the same port range). Sockets come
// and go with calls, so it keeps each socket's highest count by inode.
type udpDrops struct {
	min, max int
	sip      int // the SIP listener's port, counted apart
	byInode  map[uint64]uint64
	sipDrops uint64
}

// ownSockets returns the inodes of this process's sockets.
func ownSockets() map[uint64]bool {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := make(map[uint64]bool, len(ents))
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		if rest, ok := strings.CutPrefix(target, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64); err == nil {
				out[n] = true
			}
		}
	}
	return out
}

func newUDPDrops(minPort, maxPort, sipPort int) *udpDrops {
	return &udpDrops{min: minPort, max: maxPort, sip: sipPort, byInode: make(map[uint64]uint64)}
}

// sample reads /proc/net/udp once; it is a no-op where it is absent.
func (d *udpDrops) sample() {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return
	}
	defer f.Close()
	_ = d.read(f, ownSockets())
}

// read takes the drops of the sockets of r in the port range whose inode
// is in own.
func (d *udpDrops) read(r io.Reader, own map[uint64]bool) error {
	socks, err := ParseProcNetUDP(r)
	if err != nil {
		return err
	}
	for _, s := range socks {
		if !own[s.Inode] {
			continue
		}
		if s.LocalPort == d.sip {
			d.sipDrops = max(d.sipDrops, s.Drops)
			continue
		}
		if s.LocalPort >= d.min && s.LocalPort <= d.max && own[s.Inode] && s.Drops > d.byInode[s.Inode] {
			d.byInode[s.Inode] = s.Drops
		}
	}
	return nil
}

// total is the drops counted over every RTP socket seen, and the SIP
// listener's.
func (d *udpDrops) total() (rtp, sip uint64) {
	for _, v := range d.byInode {
		rtp += v
	}
	return rtp, d.sipDrops
}

// UDPSocket is one line of /proc/net/udp.
type UDPSocket struct {
	LocalPort int
	Inode     uint64
	Drops     uint64
}

// ParseProcNetUDP reads the socket table of /proc/net/udp (a header line,
// then "sl local_address rem_address st tx_queue:rx_queue tr:tm->when
// retrnsmt uid timeout inode ref pointer drops").
func ParseProcNetUDP(r io.Reader) ([]UDPSocket, error) {
	sc := bufio.NewScanner(r)
	var out []UDPSocket
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "sl" {
				continue
			}
		}
		if len(f) < 13 {
			continue
		}
		_, portHex, ok := strings.Cut(f[1], ":")
		if !ok {
			return nil, fmt.Errorf("/proc/net/udp: local address %q", f[1])
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			return nil, fmt.Errorf("/proc/net/udp: port %q: %w", portHex, err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/net/udp: inode %q: %w", f[9], err)
		}
		drops, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/net/udp: drops %q: %w", f[len(f)-1], err)
		}
		out = append(out, UDPSocket{LocalPort: int(port), Inode: inode, Drops: drops})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("/proc/net/udp: %w", err)
	}
	return out, nil
}
