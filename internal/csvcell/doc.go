// Package csvcell keeps the CSV files leaf-import writes safe to open in a spreadsheet, and
// reads them back unchanged. A spreadsheet runs a cell that starts with =, +, -, @, a tab or a
// carriage return as a formula (OWASP's CSV injection), and turns text that looks like a number
// into one (+15551234567 loses its +, 00123 its zeros). Such a cell is written with a leading
// apostrophe, which the spreadsheet shows as the text itself, and the manifest and report
// readers take the apostrophe off again, so that an export survives a round trip through a
// spreadsheet. It owns nothing else.
package csvcell
