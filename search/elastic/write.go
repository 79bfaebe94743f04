package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hotline-hub/hotline/search"
)

// Bulk request bounds: a Write larger than either is sent in several
// requests.
const (
	bulkDocs  = 1000
	bulkBytes = 8 << 20
)

// Write stores b with _bulk requests. It checks the whole batch first and
// sends nothing of an invalid one; a document Elasticsearch refuses is
// reported (with every other refusal) after the rest are written, and
// writing the batch again is harmless: each document replaces the stored
// one.
func (x *Index) Write(ctx context.Context, b search.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkBatch(&b); err != nil {
		return err
	}
	var buf bytes.Buffer
	n := 0
	add := func(index, id string, doc any) error {
		action := map[string]any{"index": map[string]any{"_index": index, "_id": id}}
		for _, v := range []any{action, doc} {
			line, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("elastic: write: encode %s: %w", id, err)
			}
			buf.Write(line)
			buf.WriteByte('\n')
		}
		n++
		if n >= bulkDocs || buf.Len() >= bulkBytes {
			return x.flush(ctx, &buf, &n)
		}
		return nil
	}
	for i := range b.Conversations {
		c := &b.Conversations[i]
		if err := add(x.convs, docID(c.Tenant, c.ID), newConvDoc(c)); err != nil {
			return err
		}
	}
	for i := range b.Contacts {
		c := &b.Contacts[i]
		if err := add(x.contacts, docID(c.Tenant, c.ID), newContactDoc(c)); err != nil {
			return err
		}
	}
	return x.flush(ctx, &buf, &n)
}

// flush sends the n documents in buf as one _bulk request and empties it.
func (x *Index) flush(ctx context.Context, buf *bytes.Buffer, n *int) error {
	if *n == 0 {
		return nil
	}
	defer func() { buf.Reset(); *n = 0 }()
	q := url.Values{}
	// A missing alias is an error, not a new index with dynamic mappings.
	q.Set("require_alias", "true")
	q.Set("filter_path", "errors,items.*.status,items.*._id,items.*.error")
	var res struct {
		Errors bool                         `json:"errors"`
		Items  []map[string]bulkItemOutcome `json:"items"`
	}
	if err := x.call(ctx, "write", http.MethodPost, "/_bulk", q, bytes.Clone(buf.Bytes()), &res); err != nil {
		return err
	}
	if !res.Errors {
		return nil
	}
	var msgs []string
	unavailable := false
	failed := 0
	for _, item := range res.Items {
		for _, o := range item {
			if o.Status >= 200 && o.Status <= 299 {
				continue
			}
			failed++
			// Retry later: the cluster is busy or failing, the alias is
			// missing, or the index is blocked (a full disk blocks writes).
			if o.Status == http.StatusTooManyRequests || o.Status == http.StatusNotFound ||
				o.Status == http.StatusForbidden || o.Status >= 500 {
				unavailable = true
			}
			if len(msgs) < 5 {
				msgs = append(msgs, fmt.Sprintf("%s: %d %s", o.ID, o.Status, o.Error.String()))
			}
		}
	}
	err := fmt.Errorf("elastic: write: %d of %d documents refused: %s", failed, len(res.Items), strings.Join(msgs, "; "))
	if unavailable {
		err = fmt.Errorf("%w: %w", err, search.ErrUnavailable)
	}
	return err
}

// bulkItemOutcome is the result of one document of a _bulk request.
type bulkItemOutcome struct {
	ID     string   `json:"_id"`
	Status int      `json:"status"`
	Error  *esError `json:"error"`
}

// Conversation returns the stored conversation of tenant, read in real
// time (not waiting for a refresh).
func (x *Index) Conversation(ctx context.Context, tenant, id string) (search.Conversation, bool, error) {
	var d convDoc
	ok, err := x.get(ctx, x.convs, tenant, id, &d)
	if err != nil || !ok || d.Tenant != tenant {
		return search.Conversation{}, false, err
	}
	return d.conversation(), true, nil
}

// Contact returns the stored contact of tenant.
func (x *Index) Contact(ctx context.Context, tenant, id string) (search.Contact, bool, error) {
	var d contactDoc
	ok, err := x.get(ctx, x.contacts, tenant, id, &d)
	if err != nil || !ok || d.Tenant != tenant {
		return search.Contact{}, false, err
	}
	return d.Contact, true, nil
}

// get reads the document of tenant and id into out, with _mget (real
// time, and the id travels in the body rather than the path).
func (x *Index) get(ctx context.Context, index, tenant, id string, out any) (bool, error) {
	if strings.TrimSpace(tenant) == "" {
		return false, search.Invalid("tenant", "required")
	}
	if id == "" {
		return false, search.Invalid("id", "required")
	}
	did := docID(tenant, id)
	if len(did) > maxDocID {
		return false, nil // never stored: Write refuses it
	}
	var res struct {
		Docs []struct {
			Found  bool            `json:"found"`
			Source json.RawMessage `json:"_source"`
			Error  *esError        `json:"error"`
		} `json:"docs"`
	}
	if err := x.call(ctx, "get", http.MethodPost, "/"+index+"/_mget", nil, map[string]any{"ids": []string{did}}, &res); err != nil {
		return false, err
	}
	if len(res.Docs) != 1 {
		return false, fmt.Errorf("elastic: get %s: %d documents in the answer", did, len(res.Docs))
	}
	d := res.Docs[0]
	if d.Error != nil {
		return false, fmt.Errorf("elastic: get %s: %s: %w", did, d.Error, search.ErrUnavailable)
	}
	if !d.Found {
		return false, nil
	}
	if err := json.Unmarshal(d.Source, out); err != nil {
		return false, fmt.Errorf("elastic: get %s: decode document: %w", did, err)
	}
	return true, nil
}
