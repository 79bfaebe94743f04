package chat

import (
	_ "embed"
	"net/http"
)

//go:embed widget.js
var widgetJS []byte

// Handler serves the widget and the socket under /chat/: GET
// /chat/widget.js and /chat/ws. Mount it at "/chat/" on the hub's server.
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Routes(mux)
	return mux
}

// Routes registers the channel's endpoints on mux.
func (c *Channel) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /chat/widget.js", serveWidget)
	mux.HandleFunc("GET /chat/ws", c.serveWS)
}

func serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	// Any site of a tenant loads it with a plain <script> tag.
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(widgetJS)
}
