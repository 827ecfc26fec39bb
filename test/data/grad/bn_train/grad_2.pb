Bgrad_2Js°A¦o¬@¶Aš“˜À½oA
˜A