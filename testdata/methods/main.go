// The program TestReadMethodSets reads the method sets of.
package main

type User struct{ Name string }

func (u *User) Greeting() string { return "hi " + u.Name }
func (u User) Initials() string  { return u.Name[:1] }
func (u *User) Unused()          {}

func main() {
	u := &User{Name: "x"}
	println(u.Greeting(), u.Initials())
}
