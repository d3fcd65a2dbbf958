// Package rasa implements the Rasa custom-action server protocol (the HTTP
// webhook that Rasa Open Source 3.x and Rasa Pro call): request and tracker
// types with a tolerant read-only view, constructors for every event Rasa
// accepts from an action, response builders and the HTTP handler.
//
// The wire format and its traps are described in
// shared/reference/rasa-action-protocol.md; section numbers in comments refer
// to that document.
package rasa
