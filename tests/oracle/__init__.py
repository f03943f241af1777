"""The JavaMail oracle: the real com.sun.mail jakarta.mail 2.0.0 run on gateway configs."""
