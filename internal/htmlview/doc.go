// Package htmlview renders the pages people read outside a terminal: a run's report (runs show
// --format html) and a saved plan (show --format html), each one self-contained HTML file with
// inline SVG charts and a table filtered in the page, usable at 100,000 growers. Text from
// manifests and from Leaf is escaped everywhere; the page holds no secret (a report and a plan
// hold none).
package htmlview
