// Made up for the test: the shape of github.com/tsaol/aws-gpu's data files.
var instanceData = [
  {
    "apiName": "x9.large",
    "vcpu": 2,
    "pricing": {
      "eu-west-1": {"onDemand": 0.7},
      "us-gov-west-1": {"onDemand": 0.9}
    }
  },
  {
    "apiName": "c7i.xlarge",
    "vcpu": 4,
    "pricing": {"eu-west-1": {"onDemand": 99}}
  },
  {
    "apiName": "x9.xlarge",
    "vcpu": 4,
    "pricing": {}
  }
];
