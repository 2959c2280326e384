import { createChdbStore } from '../../store/chdb.ts'
import { guid, testDataDir } from '../helpers/collector.ts'
import { runStoreSuite } from '../store.case.ts'

runStoreSuite({ name: 'chdb', open: () => createChdbStore({ dataDir: testDataDir(), database: guid('s') }) })
