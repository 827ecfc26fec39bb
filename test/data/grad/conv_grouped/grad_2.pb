Bgrad_2J2£ã@a±"Aa­
AØuÁÄó!ÁzIÀ