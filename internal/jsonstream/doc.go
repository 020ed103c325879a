// Package jsonstream writes a JSON document whose one large array is streamed element by
// element: the document's head (everything before the array) is written first, then each
// element as it comes, then the tail. The bytes are those that encoding the whole document at
// once would give (two-space indent, HTML not escaped), so that a plan of a million changes or
// a report of a million records is never held whole, nor encoded whole in memory.
//
// Plans (plan --format json, the saved plan) and reports use it. It knows nothing of either.
package jsonstream
