package embedded

// murmur2 is Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2),
// which the Java client's default partitioner applies to record keys.
func murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := length &^ 3
	switch length & 3 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// keyPartition is Kafka's default partitioner for a non-empty key:
// toPositive(murmur2(key)) % partitions, so a key lands on the same
// partition number here as on a Kafka topic with the same partition count.
func keyPartition(key []byte, partitions int) int {
	return int((murmur2(key) & 0x7fffffff) % uint32(partitions))
}
