// Made up for the test: a China Regions file, never read.
var instanceData = [
  {"apiName": "x8.large", "vcpu": 2, "pricing": {"eu-west-1": {"onDemand": 5}}}
];
