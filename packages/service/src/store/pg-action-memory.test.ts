import { pgStoreBackend, sqliteStoreBackend } from '../../test/store-backends.js'
import { describeActionMemoryContract } from './action-memory.contract.js'

describeActionMemoryContract(sqliteStoreBackend())
describeActionMemoryContract(pgStoreBackend())
