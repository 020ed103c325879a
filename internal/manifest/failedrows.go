package manifest

// FailedRowsColumn is the last column of a --failed-rows file: why the grower is there. The CSV
// manifest reader ignores it, so the file, fixed, is a manifest of its own.
const FailedRowsColumn = "leafImportError"

// FailedRowsCSV writes growers in the CSV manifest form, one row per connection, with why each
// one failed in FailedRowsColumn. The growers are read with ReadOptions.Raw, so their fields hold
// the manifest's references (${NAME}, ${file:PATH}) as written, never the secrets they name.
func FailedRowsCSV(growers []*Grower, why map[string]string) ([]byte, error) {
	out := make([]exportedGrower, 0, len(growers))
	for _, g := range growers {
		eg := exportedGrower{ext: g.ExternalID, name: g.Name, email: g.Email, phone: g.Phone, address: g.Address, config: g.Config}
		for _, c := range g.Connections {
			ec := exportedConn{provider: c.Provider}
			for _, f := range c.Fields {
				ec.fields = append(ec.fields, exportedField{name: f.Name, value: f.Value.Reveal()})
			}
			eg.conns = append(eg.conns, ec)
		}
		out = append(out, eg)
	}
	return growersCSV(out, func(ext string) string { return why[ext] })
}
