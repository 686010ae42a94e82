package dataset_test
import ("github.com/medflow/medflow/pipeline";"github.com/medflow/medflow/connectors/dataset")
var _ pipeline.Cache = (*dataset.Cache)(nil)
