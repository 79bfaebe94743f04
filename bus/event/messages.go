package event

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// MessageReceivedData is the data of message.received (version 2): a
// customer's message as the channel received it, normalised so the inbox,
// search and routing treat email, SMS and chat alike.
type MessageReceivedData struct {
	// MessageID is Hotline's id for the message, referenced by replies.
	MessageID string `json:"message_id"`
	// ExternalID is the channel's own id: the email Message-ID, the SMSC
	// message id. It threads replies and spots redelivered input.
	ExternalID string `json:"external_id,omitempty"`
	// ClientMessageID is the id the sender's client chose (the chat widget
	// sets one per message); channels drop a second message with the same
	// one, so a retrying client never shows a message twice.
	ClientMessageID string    `json:"client_message_id,omitempty"`
	From            Address   `json:"from"`
	To              []Address `json:"to"`
	Cc              []Address `json:"cc,omitempty"`
	// Subject is the email subject; empty for SMS and chat.
	Subject string `json:"subject,omitempty"`
	// Text is the plain-text body.
	Text        string    `json:"text,omitempty"`
	Attachments []BlobRef `json:"attachments,omitempty"`
	// Raw is the message as received (an email's RFC 5322 source), kept for
	// audit and re-parsing.
	Raw *BlobRef `json:"raw,omitempty"`
	// Language is the BCP 47 tag of the text, if known (detected or chosen
	// in the widget); search picks its analyzer by it.
	Language string `json:"language,omitempty"`
	// InReplyTo is the ExternalID of the message this one answers.
	InReplyTo string `json:"in_reply_to,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns MessageReceived.
func (*MessageReceivedData) EventType() string { return MessageReceived }

// UnmarshalJSON reads the fields and keeps unknown ones in Extra, the
// common shapes by hand (readFast), anything else through encoding/json.
func (d *MessageReceivedData) UnmarshalJSON(data []byte) error {
	if d.readFast(data) {
		return nil
	}
	type plain MessageReceivedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires an id, a sender, a recipient and some content.
func (d *MessageReceivedData) Validate() error {
	var p problems
	p.required("message_id", d.MessageID)
	checkAddress(&p, "from", d.From)
	checkAddresses(&p, "to", d.To, true)
	checkAddresses(&p, "cc", d.Cc, false)
	if d.Text == "" && len(d.Attachments) == 0 && d.Raw == nil {
		p.add("text", "is empty and there are no attachments")
	}
	checkBlobs(&p, "attachments", d.Attachments)
	if d.Raw != nil {
		d.Raw.check(&p, "raw.")
	}
	checkLanguage(&p, "language", d.Language)
	return p.err(MessageReceived)
}

// messageReceivedV1 is how message.received was written before version 2:
// single sender and recipient as bare strings, the text in "body". Stored
// events of this shape are upgraded on read by decodeMessageReceivedV1.
type messageReceivedV1 struct {
	MessageID   string                     `json:"message_id"`
	From        string                     `json:"from"`
	To          string                     `json:"to"`
	Body        string                     `json:"body"`
	Attachments []BlobRef                  `json:"attachments,omitempty"`
	Extra       map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps unknown v1 fields, to carry them into v2.
func (d *messageReceivedV1) UnmarshalJSON(data []byte) error {
	type plain messageReceivedV1
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// decodeMessageReceivedV1 reads version 1 and upgrades it to version 2. Kept
// unknown fields carry over, so nothing a v1 producer wrote is lost.
func decodeMessageReceivedV1(data []byte) (Payload, error) {
	var v1 messageReceivedV1
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	return upgradeMessageReceivedV1(v1)
}

func upgradeMessageReceivedV1(v1 messageReceivedV1) (*MessageReceivedData, error) {
	d := &MessageReceivedData{
		MessageID:   v1.MessageID,
		From:        Address{Address: v1.From},
		Text:        v1.Body,
		Attachments: v1.Attachments,
	}
	if v1.To != "" {
		d.To = []Address{{Address: v1.To}}
	}
	// A field v1 did not know but v2 does (a producer ahead of its time
	// wrote "language") becomes the v2 field instead of staying extra,
	// where encoding would drop it in favour of the empty v2 field.
	type plain MessageReceivedData
	known := fieldNames(reflect.TypeFor[plain]())
	for k, v := range v1.Extra {
		if !known[strings.ToLower(k)] {
			if d.Extra == nil {
				d.Extra = make(map[string]json.RawMessage)
			}
			d.Extra[k] = v
			continue
		}
		member := appendJSONString(nil, k)
		member = append(append(append([]byte{'{'}, member...), ':'), v...)
		if err := json.Unmarshal(append(member, '}'), (*plain)(d)); err != nil {
			return nil, fmt.Errorf("v1 field %q: %w", k, err)
		}
	}
	return d, nil
}

// MessageSentData is the data of message.sent: a reply accepted for
// delivery. It is published to TopicOutbox, where the channel named by the
// envelope delivers it and answers with message.delivered.
type MessageSentData struct {
	// MessageID is Hotline's id for the message; message.delivered refers to it.
	MessageID string `json:"message_id"`
	// ClientMessageID is the id the agent's browser chose, so a double
	// submit sends one reply.
	ClientMessageID string `json:"client_message_id,omitempty"`
	// AgentID is who wrote it; empty for automatic replies.
	AgentID     string    `json:"agent_id,omitempty"`
	From        Address   `json:"from"`
	To          []Address `json:"to"`
	Cc          []Address `json:"cc,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Text        string    `json:"text,omitempty"`
	Attachments []BlobRef `json:"attachments,omitempty"`
	Language    string    `json:"language,omitempty"`
	// InReplyTo is the MessageID of the received message this answers.
	InReplyTo string `json:"in_reply_to,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns MessageSent.
func (*MessageSentData) EventType() string { return MessageSent }

// UnmarshalJSON reads the fields and keeps unknown ones in Extra, the
// common shapes by hand (readFast), anything else through encoding/json.
func (d *MessageSentData) UnmarshalJSON(data []byte) error {
	if d.readFast(data) {
		return nil
	}
	type plain MessageSentData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires an id, a sender, a recipient and some content.
func (d *MessageSentData) Validate() error {
	var p problems
	p.required("message_id", d.MessageID)
	checkAddress(&p, "from", d.From)
	checkAddresses(&p, "to", d.To, true)
	checkAddresses(&p, "cc", d.Cc, false)
	if d.Text == "" && len(d.Attachments) == 0 {
		p.add("text", "is empty and there are no attachments")
	}
	checkBlobs(&p, "attachments", d.Attachments)
	checkLanguage(&p, "language", d.Language)
	return p.err(MessageSent)
}

// Delivery outcomes of message.delivered.
const (
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// MessageDeliveredData is the data of message.delivered: the outcome of
// delivering a message.sent, written by the channel that tried.
type MessageDeliveredData struct {
	// MessageID is the MessageSentData.MessageID delivered.
	MessageID string `json:"message_id"`
	// Status is DeliveryDelivered or DeliveryFailed.
	Status string `json:"status"`
	// ExternalID is the id the provider gave the message (SMTP queue id,
	// SMSC message id), for tracing with the provider.
	ExternalID string `json:"external_id,omitempty"`
	// Reason says why delivery failed: the provider's error, verbatim.
	Reason string `json:"reason,omitempty"`
	// Attempts is how many tries it took.
	Attempts int `json:"attempts,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns MessageDelivered.
func (*MessageDeliveredData) EventType() string { return MessageDelivered }

// UnmarshalJSON reads the fields and keeps unknown ones in Extra, the
// common shapes by hand (readFast), anything else through encoding/json.
func (d *MessageDeliveredData) UnmarshalJSON(data []byte) error {
	if d.readFast(data) {
		return nil
	}
	type plain MessageDeliveredData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the message id and a status; a failure needs a reason.
func (d *MessageDeliveredData) Validate() error {
	var p problems
	p.required("message_id", d.MessageID)
	p.oneOf("status", d.Status, DeliveryDelivered, DeliveryFailed)
	if d.Status == DeliveryFailed && d.Reason == "" {
		p.add("reason", "is empty for a failed delivery")
	}
	p.nonNegative("attempts", int64(d.Attempts))
	return p.err(MessageDelivered)
}
