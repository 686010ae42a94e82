package schemas

import "github.com/apache/arrow-go/v18/arrow"

// Demo is the row schema of the generic demo pipeline (gen.rows, the demo
// CSV files): an id, a group key and a measurement.
var Demo = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "group", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// Quarantine is the table of records a run set aside: which stage, which
// record (a file key, study id, ...) and why.
var Quarantine = arrow.NewSchema([]arrow.Field{
	{Name: "stage", Type: arrow.BinaryTypes.String},
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "reason", Type: arrow.BinaryTypes.String},
}, nil)
