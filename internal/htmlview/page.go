package htmlview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

// Page is one self-contained HTML document: no external script, style, font or image, so that
// it can be mailed or attached to a ticket and opened years later.
type Page struct {
	Title string
	// Meta are the lines under the title: label and value.
	Meta [][2]string
	// Tables are small summary tables.
	Tables []Table
	// Charts are inline SVG line charts over the run's time.
	Charts []Chart
	// Groups are the failures grouped by cause.
	Groups []Group
	// Rows is the big table, filtered in the page by script: its columns and rows.
	Columns []string
	Rows    [][]string
	// RowsTitle names the big table.
	RowsTitle string
}

// Table is a small table with a header row.
type Table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// Chart is a line chart: named series over the same buckets of time.
type Chart struct {
	Title  string
	Bucket string // what one point covers, for the axis ("per 10 s")
	Series []Series
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Color  string
	Points []float64
}

// Group is a cause and the growers it struck.
type Group struct {
	Title string
	Count int
	Items []string
}

// maxShownRows is how many matching rows the page draws at once: a table of 100,000 rows stays
// fast to filter because only these are in the document.
const maxShownRows = 500

const style = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}th{background:#f3f3f3}
td.n{text-align:right}.meta{color:#555}.chart{margin:1em 0}details{margin:.3em 0}#filter{width:30em;padding:4px}
#count{margin-left:1em;color:#555}.failed{color:#b00}.pending{color:#a60}.succeeded{color:#070}`

// script filters the rows (JSON in the page) by text and status and draws the first matches.
const script = `(function(){var d=JSON.parse(document.getElementById('rows').textContent);var cols=d.columns,rows=d.rows;
var f=document.getElementById('filter'),s=document.getElementById('status'),tb=document.getElementById('tbody'),c=document.getElementById('count');
var si=cols.indexOf('status');var seen={};rows.forEach(function(r){if(si>=0)seen[r[si]]=1});Object.keys(seen).sort().forEach(function(v){var o=document.createElement('option');o.value=v;o.textContent=v;s.appendChild(o)});
function draw(){var q=f.value.toLowerCase(),st=s.value,n=0;tb.textContent='';for(var i=0;i<rows.length;i++){var r=rows[i];if(st&&r[si]!==st)continue;
if(q&&r.join(' ').toLowerCase().indexOf(q)<0)continue;n++;if(n>MAX)continue;var tr=document.createElement('tr');for(var j=0;j<r.length;j++){var td=document.createElement('td');td.textContent=r[j];if(j===si)td.className=r[j];tr.appendChild(td)}tb.appendChild(tr)}
c.textContent=n+' of '+rows.length+(n>MAX?' (the first '+MAX+' shown: filter to see the others)':'')}
f.addEventListener('input',draw);s.addEventListener('change',draw);draw()})();`

// Render writes the page.
func (p *Page) Render(w io.Writer) error {
	var b bytes.Buffer
	esc := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n<style>%s</style></head><body>\n", esc(p.Title), style)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"meta\">", esc(p.Title))
	for i, m := range p.Meta {
		if i > 0 {
			b.WriteString(" · ")
		}
		fmt.Fprintf(&b, "%s: <b>%s</b>", esc(m[0]), esc(m[1]))
	}
	b.WriteString("</p>\n")
	for _, t := range p.Tables {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table><tr>", esc(t.Caption))
		for _, h := range t.Head {
			fmt.Fprintf(&b, "<th>%s</th>", esc(h))
		}
		b.WriteString("</tr>\n")
		for _, r := range t.Rows {
			b.WriteString("<tr>")
			for i, c := range r {
				class := ""
				if i > 0 && isNumber(c) {
					class = ` class="n"`
				}
				fmt.Fprintf(&b, "<td%s>%s</td>", class, esc(c))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</table>\n")
	}
	for _, c := range p.Charts {
		fmt.Fprintf(&b, "<h2>%s</h2>\n", esc(c.Title))
		c.svg(&b)
	}
	if len(p.Groups) > 0 {
		b.WriteString("<h2>Failures by cause</h2>\n")
		for _, g := range p.Groups {
			fmt.Fprintf(&b, "<details><summary>%s: %d</summary><p>%s", esc(g.Title), g.Count, esc(strings.Join(g.Items, ", ")))
			if g.Count > len(g.Items) {
				fmt.Fprintf(&b, " and %d more", g.Count-len(g.Items))
			}
			b.WriteString("</p></details>\n")
		}
	}
	if p.Columns != nil {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<p><input id=\"filter\" type=\"search\" placeholder=\"filter: an externalId, a provider, an error\"> <select id=\"status\"><option value=\"\">every status</option></select><span id=\"count\"></span></p>\n", esc(p.RowsTitle))
		b.WriteString("<noscript><p>The table needs JavaScript; the data is in the page as JSON.</p></noscript>\n<table><thead><tr>")
		for _, c := range p.Columns {
			fmt.Fprintf(&b, "<th>%s</th>", esc(c))
		}
		b.WriteString("</tr></thead><tbody id=\"tbody\"></tbody></table>\n<script type=\"application/json\" id=\"rows\">")
		// json.Encoder escapes <, > and &: nothing in the data can close the script element.
		rows := p.Rows
		if rows == nil {
			rows = [][]string{}
		}
		if err := json.NewEncoder(&b).Encode(map[string]any{"columns": p.Columns, "rows": rows}); err != nil {
			return err
		}
		fmt.Fprintf(&b, "</script>\n<script>%s</script>\n", strings.Replace(script, "MAX", fmt.Sprint(maxShownRows), -1))
	}
	b.WriteString("</body></html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != ',' && r != '.' {
			return false
		}
	}
	return true
}

// svg draws the chart: 600 by 160, one polyline per series, the maximum on the axis.
func (c *Chart) svg(b *bytes.Buffer) {
	const w, h, pad = 600.0, 160.0, 30.0
	peak, n := 0.0, 0
	for _, s := range c.Series {
		n = max(n, len(s.Points))
		for _, v := range s.Points {
			peak = max(peak, v)
		}
	}
	fmt.Fprintf(b, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"%s\">\n", w+pad*2, h+pad*2, html.EscapeString(c.Title))
	fmt.Fprintf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n", pad, pad, w, h)
	fmt.Fprintf(b, "<text x=\"2\" y=\"%.0f\" font-size=\"11\">%g</text><text x=\"2\" y=\"%.0f\" font-size=\"11\">0</text>\n", pad+4, peak, pad+h)
	fmt.Fprintf(b, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>\n", pad, pad+h+18, html.EscapeString(c.Bucket))
	for i, s := range c.Series {
		var pts strings.Builder
		for j, v := range s.Points {
			x := pad
			if n > 1 {
				x += w * float64(j) / float64(n-1)
			}
			y := pad + h
			if peak > 0 {
				y -= h * v / peak
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
		}
		fmt.Fprintf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", s.Color, strings.TrimSpace(pts.String()))
		fmt.Fprintf(b, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" fill=\"%s\">%s</text>\n", pad+w-140, pad+16+float64(i)*14, s.Color, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
}
