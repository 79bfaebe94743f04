package search

import (
	"errors"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, region, want string
	}{
		{"+33 1 23 45 67 89", "", "+33123456789"},
		{"+33 1 23 45 67 89", "DE", "+33123456789"},
		{"+33 (0)1 23 45 67 89", "", "+33123456789"},
		{"0033 1 23 45 67 89", "", "+33123456789"},
		{"0033 1 23 45 67 89", "FR", "+33123456789"},
		{"01 23 45 67 89", "FR", "+33123456789"},
		{"01.23.45.67.89", "fr", "+33123456789"},
		{"06-12-34-56-78", "FR", "+33612345678"},
		{"+7 (495) 123-45-67", "", "+74951234567"},
		{"8 495 123-45-67", "RU", "+74951234567"},
		{"8 (916) 123-45-67", "RU", "+79161234567"},
		{"916 123 45 67", "RU", "+79161234567"},
		{"810 33 1 23 45 67 89", "RU", "+33123456789"},
		{"030 1234567", "DE", "+49301234567"},
		{"030/123 4567", "DE", "+49301234567"},
		{"+49 30 1234567", "", "+49301234567"},
		{"0049 (0)30 1234567", "", "+49301234567"},
		{"+44 20 7946 0958", "", "+442079460958"},
		{"+44 (0)20 7946 0958", "", "+442079460958"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"07700 900123", "UK", "+447700900123"},
		{"(415) 555-0132", "US", "+14155550132"},
		{"415.555.0132", "US", "+14155550132"},
		{"1 (415) 555-0132", "US", "+14155550132"},
		{"011 33 1 23 45 67 89", "US", "+33123456789"},
		{"+1 415 555 0132", "", "+14155550132"},
		{"+39 06 1234 5678", "", "+390612345678"},
		{" +33123456789 ", "", "+33123456789"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
		}
	}
}

func TestNormalizePhoneErrors(t *testing.T) {
	tests := []struct{ in, region string }{
		{"", "FR"},
		{"   ", "FR"},
		{"abc", "FR"},
		{"01 23 45 67 89", ""},      // national without a region
		{"01 23 45 67 89", "ZZ"},    // unknown region
		{"01 23 45 67", "FR"},       // too short
		{"01 23 45 67 89 10", "FR"}, // too long
		{"+33 1 23 45 67", ""},      // too short for France
		{"+33 01 23 45 67 89", ""},  // 0 after the country code
		{"+0 123 456 789", ""},      // no country code starts with 0
		{"+1234567", ""},            // too short for E.164
		{"+1234567890123456", ""},   // too long for E.164
		{"+33 1 23 45 67 89 ext 12", ""},
		{"1+33123456789", ""},
		{"+7 495 123-45-6", ""},
		{"555-0132", "US"},
		{"12 34 56 78 90", "FR"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in, tt.region)
		var pe *PhoneError
		if err == nil || !errors.Is(err, ErrInvalidPhone) || !errors.As(err, &pe) || pe.Reason == "" {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want a *PhoneError", tt.in, tt.region, got, err)
		}
	}
}
