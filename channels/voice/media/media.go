// Package media is the RTP side of the voice channel: G.711 audio (µ-law
// and A-law), prompts loaded once and shared by every call, RTP sessions
// on a range of even ports that play prompts paced by absolute deadlines,
// receive RFC 4733 DTMF, record both directions to a stereo WAV file
// streamed to disk, and bridge two call legs.
//
// It is built for many concurrent calls on few cores: each session has
// one receive goroutine, sends from the goroutine that plays (or, when
// bridged, from its peer's receive goroutine), and neither path allocates
// per packet.
package media
