import { pgStoreBackend, sqliteStoreBackend } from '../../test/store-backends.js'
import { describeDeliveryLogContract } from './delivery-log.contract.js'

describeDeliveryLogContract(sqliteStoreBackend())
describeDeliveryLogContract(sqliteStoreBackend({ writesInQueueThread: true }))
describeDeliveryLogContract(pgStoreBackend())
