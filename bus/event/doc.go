// Package event defines the one envelope every Hotline fact travels in, the
// typed payloads of each event type, and how envelopes map onto bus
// messages.
//
// # Envelope
//
// An Envelope is a CloudEvents 1.0 event: the standard attributes id,
// source, specversion, type, subject, time, datacontenttype and dataschema,
// plus four Hotline extension attributes that every consumer filters on
// without decoding the data: tenant, conversationid, contactid and channel.
// Extension attributes Hotline does not know are kept through decoding and
// encoding, so an event forwarded by Hotline loses nothing a third party put
// in it.
//
// # Encodings
//
// On the bus an envelope is a bus.Message in the binary content mode of the
// CloudEvents Kafka protocol binding: each attribute is a "ce_<name>"
// header, datacontenttype is the "content-type" header and the data is the
// message value, so Kafka tools and other CloudEvents SDKs read Hotline
// topics as they are. FromMessage also reads the structured content mode
// (a whole JSON event in the value), which is what Envelope.MarshalJSON
// writes (media type application/cloudevents+json).
//
// # Reading deliveries
//
// Consumers read a bus delivery with FromDelivery, which decodes each
// record once per process however many subscriptions receive it (the
// embedded bus hands them all the same record), and memoises Decode on the
// envelope it returns. That envelope, its data and its payload are shared
// by every consumer of the process: they are read-only, and a consumer that
// needs to change one copies it first.
//
// # Payloads and versions
//
// Each event type has one Go payload type (MessageReceivedData for
// "message.received", ...). Payloads are versioned: an envelope's
// dataschema "urn:hotline:<type>:v<N>" names the version its data was
// written in, and no dataschema means version 1. Envelope.Decode reads any
// version ever registered and upgrades it to the current Go type, so events
// stored years ago stay readable. Payloads keep JSON fields they do not know
// (in their Extra maps), so a consumer running an older Hotline that
// re-publishes an event does not strip fields a newer producer added.
//
// # Topics and keys
//
// The event type decides the topic (TopicFor) and the scope decides the
// partition key (Envelope.Key): everything about one conversation shares a
// key and so stays in order; agent and contact events are keyed by tenant,
// so routing sees one tenant's agents in one order.
package event
