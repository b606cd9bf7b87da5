package ews

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// captured is one request as the server saw it.
type captured struct {
	Header http.Header
	Body   []byte
}

// replayServer is a real HTTPS server that answers each EWS operation with a real
// reply document from the sample corpus and records every request.
type replayServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []captured
	// reply may override the default per-operation answer; nil = default.
	reply func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

var defaultReplies = map[string]string{
	"GetFolder":    "getfolder-success-phpews.xml",
	"CreateItem":   "createitem-calendaritem-success-phpews.xml",
	"DeleteItem":   "deleteitem-success-msdocs.xml",
	"GetRoomLists": "getroomlists-success-msdocs.xml",
	"GetRooms":     "getrooms-success-msdocs.xml",
	"ConvertId":    "convertid-error-invalidsmtpaddress-exchangelib.xml",
}

// operation finds the body element of a request without our parser (an independent check).
func operation(body []byte) string {
	s := string(body)
	i := strings.Index(s, "<soap:Body><m:")
	if i < 0 {
		return ""
	}
	s = s[i+len("<soap:Body><m:"):]
	return s[:strings.IndexAny(s, " />")]
}

func newReplayServer(t *testing.T, setup ...func(*httptest.Server)) *replayServer {
	t.Helper()
	rs := &replayServer{}
	rs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, captured{Header: r.Header.Clone(), Body: body})
		reply := rs.reply
		rs.mu.Unlock()
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if reply != nil && reply(w, r, body) {
			return
		}
		file, ok := defaultReplies[operation(body)]
		if !ok {
			http.Error(w, "unknown operation", http.StatusBadRequest)
			return
		}
		doc, err := os.ReadFile(filepath.Join(samplesDir, file))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(doc)
	}))
	for _, f := range setup {
		f(rs.Server)
	}
	rs.StartTLS()
	t.Cleanup(rs.Close)
	return rs
}

func (rs *replayServer) client() *Client {
	return &Client{URL: rs.URL + "/EWS/Exchange.asmx", HTTP: rs.Client(), Version: NewVersion("")}
}

func (rs *replayServer) requests() []captured {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]captured(nil), rs.reqs...)
}

func (rs *replayServer) setReply(f func(w http.ResponseWriter, r *http.Request, body []byte) bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.reply = f
}
