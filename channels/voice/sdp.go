package voice

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Offer/answer errors; each maps to a SIP status (see offerStatus).
var (
	// errBadSDP: the body is not a usable session description (400).
	errBadSDP = errors.New("malformed SDP")
	// errNoCodec: no audio stream offers PCMU or PCMA over RTP/AVP (488).
	errNoCodec = errors.New("no G.711 audio in the offer")
)

// codec is a negotiated audio format.
type codec struct {
	name string // "PCMU" or "PCMA"
	pt   uint8
}

// offer is what the hub needs from a caller's SDP offer.
type offer struct {
	remote *net.UDPAddr
	codec  codec
	// dtmfPT is the payload type of telephone-event/8000, 0 when not offered.
	dtmfPT uint8
	// mediaIndex is the audio m= line answered; the others are refused
	// with port 0, as RFC 3264 wants one m= line per offered one.
	mediaIndex int
	desc       *sdp.SessionDescription
	// direction is the offerer's a=sendrecv, sendonly, recvonly or
	// inactive for the audio stream (media level, else session level,
	// else sendrecv); a c= address of 0.0.0.0 (RFC 2543 hold) reads as
	// sendonly.
	direction string
}

// parseOffer reads an SDP offer and picks the first G.711 format in the
// caller's order of preference, and telephone-event if offered.
func parseOffer(body []byte) (*offer, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSDP, err)
	}
	if len(d.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no m= line", errBadSDP)
	}
	for i, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 ||
			strings.Join(m.MediaName.Protos, "/") != "RTP/AVP" {
			continue
		}
		o := &offer{mediaIndex: i, desc: &d}
		rtpmap := map[uint8]string{}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, enc, ok := strings.Cut(a.Value, " ")
			n, err := strconv.ParseUint(pt, 10, 7)
			if !ok || err != nil {
				return nil, fmt.Errorf("%w: rtpmap %q", errBadSDP, a.Value)
			}
			rtpmap[uint8(n)] = strings.ToLower(strings.TrimSpace(enc))
		}
		found := false
		for _, f := range m.MediaName.Formats {
			n, err := strconv.ParseUint(f, 10, 7)
			if err != nil {
				return nil, fmt.Errorf("%w: format %q is not a payload type", errBadSDP, f)
			}
			pt := uint8(n)
			enc, mapped := rtpmap[pt]
			switch {
			case !found && (pt == 0 && !mapped || enc == "pcmu/8000" || enc == "pcmu/8000/1"):
				o.codec, found = codec{"PCMU", pt}, true
			case !found && (pt == 8 && !mapped || enc == "pcma/8000" || enc == "pcma/8000/1"):
				o.codec, found = codec{"PCMA", pt}, true
			case o.dtmfPT == 0 && enc == "telephone-event/8000":
				o.dtmfPT = pt
			}
		}
		if !found {
			continue
		}
		if o.codec.pt != 0 && o.codec.pt != 8 {
			// The media layer sends G.711 with its static payload type;
			// a dynamic number for it is legal but not something we answer.
			continue
		}
		conn := m.ConnectionInformation
		if conn == nil {
			conn = d.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return nil, fmt.Errorf("%w: no c= line for the audio stream", errBadSDP)
		}
		ip := net.ParseIP(conn.Address.Address)
		if ip == nil {
			return nil, fmt.Errorf("%w: c= address %q is not an IP address", errBadSDP, conn.Address.Address)
		}
		port := m.MediaName.Port.Value
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: port %d", errBadSDP, port)
		}
		o.remote = &net.UDPAddr{IP: ip, Port: port}
		o.direction = streamDirection(&d, m)
		if ip.IsUnspecified() && o.direction == dirSendRecv {
			o.direction = dirSendOnly
		}
		return o, nil
	}
	return nil, errNoCodec
}

// SDP stream directions (RFC 3264 section 6.1).
const (
	dirSendRecv = "sendrecv"
	dirSendOnly = "sendonly"
	dirRecvOnly = "recvonly"
	dirInactive = "inactive"
)

// streamDirection is m's direction attribute, else the session's, else
// sendrecv.
func streamDirection(d *sdp.SessionDescription, m *sdp.MediaDescription) string {
	for _, attrs := range [][]sdp.Attribute{m.Attributes, d.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case dirSendRecv, dirSendOnly, dirRecvOnly, dirInactive:
				return a.Key
			}
		}
	}
	return dirSendRecv
}

// answerDirection is the direction that answers an offer's: what the
// offerer only sends, the hub only receives, and so on.
func answerDirection(offered string) string {
	switch offered {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	case dirInactive:
		return dirInactive
	}
	return dirSendRecv
}

// answer builds the hub's SDP answer to o: the chosen codec (and
// telephone-event) on local, in the direction answering o's, other m=
// lines refused.
func answer(o *offer, local *net.UDPAddr, sessID, version uint64) ([]byte, error) {
	ip := local.IP.String()
	addrType := "IP4"
	if local.IP.To4() == nil {
		addrType = "IP6"
	}
	d := &sdp.SessionDescription{
		Origin: sdp.Origin{Username: "hotline", SessionID: sessID, SessionVersion: version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip},
		SessionName:           "hotline",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
	}
	for i, m := range o.desc.MediaDescriptions {
		if i != o.mediaIndex {
			d.MediaDescriptions = append(d.MediaDescriptions, &sdp.MediaDescription{
				MediaName: sdp.MediaName{Media: m.MediaName.Media, Port: sdp.RangedPort{Value: 0},
					Protos: m.MediaName.Protos, Formats: m.MediaName.Formats},
			})
			continue
		}
		pt := strconv.Itoa(int(o.codec.pt))
		md := &sdp.MediaDescription{
			MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: local.Port},
				Protos: []string{"RTP", "AVP"}, Formats: []string{pt}},
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", pt+" "+o.codec.name+"/8000"))
		if o.dtmfPT != 0 {
			ev := strconv.Itoa(int(o.dtmfPT))
			md.MediaName.Formats = append(md.MediaName.Formats, ev)
			md.Attributes = append(md.Attributes,
				sdp.NewAttribute("rtpmap", ev+" telephone-event/8000"),
				sdp.NewAttribute("fmtp", ev+" 0-16"))
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(answerDirection(o.direction)))
		d.MediaDescriptions = append(d.MediaDescriptions, md)
	}
	b, err := d.Marshal()
	if err != nil {
		return nil, fmt.Errorf("voice: marshal SDP answer: %w", err)
	}
	return b, nil
}
