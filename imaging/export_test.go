package imaging

// CMallocInUse exposes the C heap size to the tests.
var CMallocInUse = cMallocInUse
